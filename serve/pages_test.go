package serve

import (
	"fmt"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/reports"
)

// TestPathNodesExact: the nodes a path lights are the path's own. For every listed open path of
// every goal: the goal and every element of the path drawn in the goal's tree are lit; no lit
// node closes (an open path never goes through a blocked or attested node, which is what the
// old highlight showed); every lit node but the goal has a lit parent; and every lit inner node
// is achieved by its lit children (AND: all of them, OR: one).
func TestPathNodesExact(t *testing.T) {
	snap := testServer(t).snap.Load()
	c := snap.catalog
	checked := 0
	for _, tr := range snap.result.Trees {
		for gi := range tr.Goals {
			g := &tr.Goals[gi]
			for pi, p := range g.OpenPaths {
				lit := map[string]bool{}
				for _, id := range snap.pathNodes(g, p) {
					lit[id] = true
				}
				name := fmt.Sprintf("%s path %d", g.ID, pi+1)
				if !lit[g.ID] {
					t.Errorf("%s: the goal is not lit", name)
				}
				for _, e := range p.Steps {
					id := strings.TrimSuffix(e, reports.ActionSuffix)
					if n, ok := c.Node(id); ok && n.Tree == tr.ID && !lit[id] {
						t.Errorf("%s: element %s is not lit", name, e)
					}
				}
				for id := range lit {
					if snap.status(id).Closes() {
						t.Errorf("%s: lights %s, which is %s", name, id, snap.status(id))
					}
					n, _ := c.Node(id)
					if id != g.ID && !anyLit(c.Parents(n), lit) {
						t.Errorf("%s: lights %s, which no lit node leads to", name, id)
					}
					kids := c.Children(n)
					if len(kids) == 0 || n.Kind == attacktrees.KindSubtree {
						continue
					}
					got := 0
					for _, k := range kids {
						if lit[k.ID] || (k.Tree != tr.ID) {
							got++
						}
					}
					if gate, _ := n.Combine(); gate == attacktrees.GateAnd && got != len(kids) {
						t.Errorf("%s: AND node %s is lit with %d of %d children", name, id, got, len(kids))
					}
				}
				checked++
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked only %d paths", checked)
	}
}

func anyLit(nodes []*attacktrees.Node, lit map[string]bool) bool {
	for _, n := range nodes {
		if lit[n.ID] {
			return true
		}
	}
	return false
}
