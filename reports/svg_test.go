package reports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
)

// TestTreeSVGGolden renders each fixture tree twice (byte-identical) and pins DOT and SVG as goldens.
func TestTreeSVGGolden(t *testing.T) {
	c := loadCatalog(t, "testdata/small/trees")
	r := smallResult()
	for _, tree := range []string{"demo", "other"} {
		t.Run(tree, func(t *testing.T) {
			dot, err := TreeDOT(c, r, tree)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "small", tree+".dot", dot)
			first, err := TreeSVG(context.Background(), c, r, tree)
			if err != nil {
				t.Fatal(err)
			}
			second, err := TreeSVG(context.Background(), c, r, tree)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Fatal("two renders of the same tree differ")
			}
			golden(t, "small", tree+".svg", first)
		})
	}
}

// TestOpenPathEdges: an edge is drawn as part of an open path when both ends carry open paths;
// never out of a closed node, even when leaves under it are used by open paths elsewhere.
func TestOpenPathEdges(t *testing.T) {
	c := loadCatalog(t, "testdata/small/trees")
	r := smallResult()
	for i := range r.Nodes {
		if r.Nodes[i].ID == "demo-release" {
			r.Nodes[i].OpenPaths = bi(5)
		}
	}
	dot, err := TreeDOT(c, r, "demo")
	if err != nil {
		t.Fatal(err)
	}
	hot := map[string]bool{}
	for _, line := range strings.Split(string(dot), "\n") {
		if strings.Contains(line, " -> ") {
			id := line[strings.Index(line, `[id="`)+5:]
			id = id[:strings.Index(id, `"`)]
			hot[id] = strings.Contains(line, `class="open-path"`)
		}
	}
	want := map[string]bool{
		"demo-goal--demo-escape":       true,
		"demo-escape--demo-privileged": true,
		"demo-escape--demo-exploit":    true,
		"demo-goal--demo-sub":          true,
		"demo-goal--demo-hostpid":      false, // blocked leaf
		"demo-poison--demo-release":    false, // blocked inner node
		"demo-poison--demo-registry":   false,
		"demo-secrets--demo-hostpid":   false,
		"demo-goal--demo-poison":       false,
		"demo-secrets--demo-token":     false, // blocked goal
		"note:demo-note--demo-exploit": false,
	}
	if diff := cmp.Diff(want, hot); diff != "" {
		t.Errorf("open-path edges (-want +got):\n%s", diff)
	}
}

// TestTreeSVGConcurrent renders from several goroutines at once (as serve does): the renders
// are serialized, so each gives the same bytes. Run with -race to check the lock.
func TestTreeSVGConcurrent(t *testing.T) {
	c := loadCatalog(t, "testdata/small/trees")
	r := smallResult()
	want, err := TreeSVG(context.Background(), c, r, "demo")
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := TreeSVG(context.Background(), c, r, "demo")
			if err == nil && !bytes.Equal(got, want) {
				err = errors.New("a concurrent render differs")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestTreeTooLargeToDraw: a tree beyond MaxDrawNodes is refused quickly (a 100,000-node chain
// would otherwise keep graphviz busy for a very long time); the HTML report says so instead of
// failing.
func TestTreeTooLargeToDraw(t *testing.T) {
	c := chainCatalog(t, 100000)
	if _, err := TreeSVG(context.Background(), c, nil, "chain"); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	r := emptyResult()
	r.Trees = []analyzer.TreeResult{{ID: "chain", Title: "Chain"}}
	var b bytes.Buffer
	if err := Render(&b, "html", r, c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No drawing: tree too large to draw") {
		t.Error("the HTML report does not say why the tree is not drawn")
	}
}

// TestWrapIDs: long ids break after a separator and are shown in full; short text wraps at
// spaces only; a word with no separator is cut at the width.
func TestWrapIDs(t *testing.T) {
	tests := []struct {
		name, in string
		width    int
		want     string
	}{
		{"fits", "policy: psa:baseline", 34, "policy: psa:baseline"},
		{"at spaces", "policies: a, b, c", 10, "policies:<BR/>a, b, c"},
		{"long id after separators", "policy: gatekeeper:K8sPSPHostNamespace/psp-host-namespace", 34,
			"policy:<BR/>gatekeeper:K8sPSPHostNamespace/<BR/>psp-host-namespace"},
		{"no separator", "abcdefghijkl", 5, "abcde<BR/>fghij<BR/>kl"},
		{"escaped", "a<b/c&d", 34, "a&lt;b/c&amp;d"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := wrapIDs(tc.in, tc.width)
			if got != tc.want {
				t.Errorf("wrapIDs(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
			}
			unspaced := strings.NewReplacer("<BR/>", "", " ", "")
			if plain := unspaced.Replace(got); strings.Contains(tc.in, "K8s") && plain != unspaced.Replace(tc.in) {
				t.Errorf("the id is not shown in full: %q", plain)
			}
		})
	}
}

// TestTreeSVGOptions: a drawing embeds its fonts unless the page declares them, every node's
// outline is redrawn as a shape, and WithGoals draws one goal's sub-tree.
func TestTreeSVGOptions(t *testing.T) {
	c := loadCatalog(t, "testdata/small/trees")
	r := smallResult()
	ctx := context.Background()
	full, err := TreeSVG(ctx, c, r, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(full), "@font-face"); n != len(Fonts()) {
		t.Errorf("the drawing declares %d fonts, want %d", n, len(Fonts()))
	}
	if got := strings.Count(string(full), `class="shape"`); got < 10 {
		t.Errorf("%d outlines are drawn as shapes, want one per node (and two for bypassed)", got)
	}
	page, err := TreeSVG(ctx, c, r, "demo", WithPageFonts())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "<style") {
		t.Errorf("WithPageFonts still embeds the font style")
	}
	one, err := TreeSVG(ctx, c, r, "demo", WithGoals("demo-secrets"), WithPageFonts())
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"demo-secrets": true, "demo-token": true, "demo-hostpid": true, "demo-goal": false, "demo-escape": false, "demo-note": false} {
		if got := strings.Contains(string(one), `<g id="`+strings.ReplaceAll(id, "-", "&#45;")+`" class="node"`); got != want {
			t.Errorf("WithGoals(demo-secrets) draws %s: %v, want %v", id, got, want)
		}
	}
	ignored, err := TreeSVG(ctx, c, r, "demo", WithGoals("no-such-goal"), WithPageFonts())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ignored, page) {
		t.Errorf("WithGoals with no goal of the tree does not draw the whole tree")
	}
}

// TestLargeTreeSplines: right-angled connectors up to orthoMaxNodes drawn nodes; beyond, where
// graphviz's orthogonal router would take minutes (a minute for 1,000 nodes), straight segments.
func TestLargeTreeSplines(t *testing.T) {
	for _, n := range []int{orthoMaxNodes, orthoMaxNodes + 1} {
		c := chainCatalog(t, n)
		dot, err := TreeDOT(c, nil, "chain")
		if err != nil {
			t.Fatal(err)
		}
		want := "splines=ortho"
		if n > orthoMaxNodes {
			want = "splines=polyline"
		}
		if !strings.Contains(string(dot), want) {
			t.Errorf("%d nodes: the DOT lacks %s", n, want)
		}
	}
}

// chainCatalog is one tree "chain" of n nodes, each the only child of the one before: a goal,
// ORs, and a step at the end.
func chainCatalog(t *testing.T, n int) *attacktrees.Catalog {
	t.Helper()
	nodes := make([]*attacktrees.Node, 0, n)
	for i := 0; i < n; i++ {
		node := &attacktrees.Node{ID: fmt.Sprintf("chain-%d", i), Kind: attacktrees.KindOr, Label: "link"}
		if i == 0 {
			node.Kind, node.Gate = attacktrees.KindGoal, attacktrees.GateOr
		}
		if i < n-1 {
			node.Children = []string{fmt.Sprintf("chain-%d", i+1)}
		} else {
			node.Kind = attacktrees.KindStep
		}
		nodes = append(nodes, node)
	}
	c, err := attacktrees.Build([]*attacktrees.Tree{{ID: "chain", Title: "Chain", Nodes: nodes}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
