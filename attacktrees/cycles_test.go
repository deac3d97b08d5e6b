package attacktrees

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/graph/simple"
	"gonum.org/v1/gonum/graph/topo"
)

// TestCyclesMatchGonum: the catalog's own Tarjan finds the components of more than one node
// that gonum's topo.Sort reported as unorderable, on random graphs with self-loops and
// parallel edges.
func TestCyclesMatchGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 8))
	for trial := 0; trial < 300; trial++ {
		n := 1 + r.IntN(30)
		c := &Catalog{children: make([][]*Node, n)}
		for i := range n {
			c.nodes = append(c.nodes, &Node{ID: fmt.Sprint(i), index: int64(i)})
		}
		g := simple.NewDirectedGraph()
		for i := range n {
			g.AddNode(simple.Node(i))
		}
		edges := r.IntN(2 * n)
		for range edges {
			a, b := r.IntN(n), r.IntN(n)
			c.children[a] = append(c.children[a], c.nodes[b])
			if a != b && !g.HasEdgeFromTo(int64(a), int64(b)) {
				g.SetEdge(g.NewEdge(simple.Node(a), simple.Node(b)))
			}
		}
		var want [][]int64
		if _, err := topo.Sort(g); err != nil {
			for _, comp := range err.(topo.Unorderable) {
				var ids []int64
				for _, gn := range comp {
					ids = append(ids, gn.ID())
				}
				slices.Sort(ids)
				want = append(want, ids)
			}
		}
		slices.SortFunc(want, func(a, b []int64) int { return int(a[0] - b[0]) })
		var got [][]int64
		for _, comp := range c.cycles() {
			var ids []int64
			for _, n := range comp {
				ids = append(ids, n.index)
			}
			got = append(got, ids)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("trial %d: cycles %v, gonum %v (children %v)", trial, got, want, c.children)
		}
	}
}
