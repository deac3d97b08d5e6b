package attacktrees

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files and docs/catalog.md")

// TestCatalogCounts pins the embedded catalog's shape per tree, so a change to a transcription
// is a visible diff in review.
func TestCatalogCounts(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatalf("embedded catalog does not load: %v", err)
	}
	golden(t, "testdata/catalog-counts.golden", catalogCounts(c))
	golden(t, "../docs/catalog.md", catalogDoc(c))
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./attacktrees -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s is stale (-want +got; go test ./attacktrees -update rewrites it):\n%s", path, diff)
	}
}

type treeStats struct {
	kinds   map[Kind]int
	leaves  int
	goals   int
	refs    []string
	shared  []string
	ambig   []*Node
	tbc     int
	subtree []string
}

func statsOf(c *Catalog, t *Tree) treeStats {
	s := treeStats{kinds: map[Kind]int{}, goals: len(c.Goals(t.ID))}
	for _, n := range t.Nodes {
		s.kinds[n.Kind]++
		if c.IsLeaf(n) {
			s.leaves++
		}
		if n.Ref != "" {
			s.refs = append(s.refs, n.Ref)
		}
		if p := len(c.Parents(n)); p > 1 {
			s.shared = append(s.shared, fmt.Sprintf("%s (%d parents)", n.Label, p))
		}
		if n.Ambiguity != "" {
			s.ambig = append(s.ambig, n)
		}
		if n.TBC {
			s.tbc++
		}
		if n.Kind == KindSubtree {
			ref := fmt.Sprintf("%s -> %s", n.Label, n.Target)
			if len(n.Children) > 0 {
				ref += fmt.Sprintf(" (AND its own children: %s)", strings.Join(n.Children, ", "))
			}
			s.subtree = append(s.subtree, ref)
		}
	}
	sort.Strings(s.refs)
	return s
}

func catalogCounts(c *Catalog) string {
	var b strings.Builder
	for _, t := range c.Trees() {
		s := statsOf(c, t)
		edges := 0
		for _, n := range t.Nodes {
			edges += len(c.Children(n)) + len(c.Targets(n))
		}
		fmt.Fprintf(&b, "%s nodes=%d edges=%d leaves=%d goals=%d", t.ID, len(t.Nodes), edges, s.leaves, s.goals)
		for _, k := range []Kind{KindGoal, KindAnd, KindOr, KindAtLeast, KindStep, KindSubtree, KindNote} {
			fmt.Fprintf(&b, " %s=%d", k, s.kinds[k])
		}
		fmt.Fprintf(&b, " shared=%d ambiguities=%d tbc=%d refs=%s\n", len(s.shared), len(s.ambig), s.tbc, strings.Join(s.refs, ","))
	}
	return b.String()
}

func catalogDoc(c *Catalog) string {
	var b strings.Builder
	b.WriteString("# The embedded catalog\n\n")
	b.WriteString("Generated from `attacktrees/catalog/*.yaml` by `go test ./attacktrees -update`; do not edit.\n\n")
	b.WriteString("The six attack trees of the CNCF Financial Services User Group Kubernetes threat model v1.4,\n")
	b.WriteString("transcribed from the vector PDFs (boxes by fill colour and shape, edges from each connector\n")
	b.WriteString("path, labels from the text layer) and checked page by page against the diagrams. Where the\n")
	b.WriteString("drawing is ambiguous the node carries an `ambiguity` note, listed below.\n\n")
	b.WriteString("| tree | nodes | leaves | goals | goal | and | or | step | subtree | note | TBC |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, t := range c.Trees() {
		s := statsOf(c, t)
		fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d |\n", t.ID, len(t.Nodes), s.leaves, s.goals,
			s.kinds[KindGoal], s.kinds[KindAnd], s.kinds[KindOr], s.kinds[KindStep], s.kinds[KindSubtree], s.kinds[KindNote], s.tbc)
	}
	for _, t := range c.Trees() {
		s := statsOf(c, t)
		fmt.Fprintf(&b, "\n## %s (`%s`)\n\n", t.Title, t.ID)
		if t.Source != "" {
			fmt.Fprintf(&b, "Source: %s\n\n", t.Source)
		}
		fmt.Fprintf(&b, "- Bracket refs: %s\n", joinOrNone(s.refs))
		fmt.Fprintf(&b, "- Subtree references: %s\n", joinOrNone(s.subtree))
		fmt.Fprintf(&b, "- Nodes with several parents: %s\n", joinOrNone(s.shared))
		if len(s.ambig) == 0 {
			b.WriteString("- Ambiguities: none\n")
			continue
		}
		b.WriteString("- Ambiguities:\n")
		for _, n := range s.ambig {
			fmt.Fprintf(&b, "  - `%s` (%s): %s\n", n.ID, n.Label, strings.Join(strings.Fields(n.Ambiguity), " "))
		}
	}
	return b.String()
}

func joinOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}
