package reports

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/treetest"
)

// boxCatalog has a subtree box with children of its own that targets its tree's sub-tree page,
// and a box that refers to another tree.
func boxCatalog(t *testing.T) *attacktrees.Catalog {
	t.Helper()
	return treetest.Catalog(t,
		"id: t\ntitle: T\nnodes:\n"+
			"  - {id: g, kind: goal, gate: or, label: Goal, children: [box, ext]}\n"+
			"  - {id: box, kind: subtree, label: 'ATTACK TREE: Page', target: page, children: [via]}\n"+
			"  - {id: via, kind: step, label: Via network}\n"+
			"  - {id: ext, kind: subtree, label: 'ATTACK TREE: U', target: u}\n"+
			"  - {id: page, kind: goal, gate: or, label: Page root, page: 2, children: [p1]}\n"+
			"  - {id: p1, kind: step, label: P1, page: 2}\n",
		"id: u\ntitle: U tree\nnodes:\n  - {id: gu, kind: goal, gate: plain, label: GU, children: [u1]}\n  - {id: u1, kind: step, label: U1}\n",
	)
}

// TestSubtreeBoxOutline: `trees show` names a box's target and lists the box's own children
// under it; the sub-tree page is not a goal of its own, so it follows the goals, named as its box's page.
func TestSubtreeBoxOutline(t *testing.T) {
	c := boxCatalog(t)
	tr, _ := c.Tree("t")
	var b strings.Builder
	if err := TreeText(&b, c, tr); err != nil {
		t.Fatal(err)
	}
	want := `t: T

[GOAL OR] Goal  (g)
+-- [SUBTREE] ATTACK TREE: Page  (box) -> page, AND one of:
|   ` + "`" + `-- [LEAF] Via network  (via)
` + "`" + `-- [SUBTREE] ATTACK TREE: U  (ext) -> u

sub-tree page of box:
[GOAL OR] Page root  (page)
` + "`" + `-- [LEAF] P1  (p1)
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("outline (-want +got):\n%s", diff)
	}
}

// TestSubtreeBoxDOT: the drawing shows a box's target (a reference edge to its sub-tree page in
// the same tree, the title of another tree) and connectors to its own children.
func TestSubtreeBoxDOT(t *testing.T) {
	c := boxCatalog(t)
	dot, err := TreeDOT(c, nil, "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`"box" -> "via" [id="box--via"]`,
		`"box" -> "page" [id="box--target--page", style=dotted, arrowhead=empty]`,
		"SUBTREE AND ONE CHILD",
		"→ tree U tree",
	} {
		if !strings.Contains(string(dot), s) {
			t.Errorf("DOT lacks %q:\n%s", s, dot)
		}
	}
}
