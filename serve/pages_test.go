package serve

import (
	"fmt"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
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
					id, _ := analyzer.ElementNode(e)
					if n, ok := c.Node(id); ok && n.Tree == tr.ID && !lit[id] {
						t.Errorf("%s: element %s is not lit", name, e)
					}
				}
				for id := range lit {
					if snap.status(id).Closes() {
						t.Errorf("%s: lights %s, which is %s", name, id, snap.status(id))
					}
					n, _ := c.Node(id)
					// A node reached through a subtree box of another tree (a reference
					// cycle between the scenarios) has its lit parent in that tree.
					if id != g.ID && !anyLit(c.Parents(n), lit) && !fromOtherTree(c.Parents(n), tr.ID) {
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

// TestPolicyView: a policy's row lists the steps it blocks, each linked to its node, and the
// filter keeps only matching rows.
func TestPolicyView(t *testing.T) {
	s := testServer(t)
	var row *policyRow
	rows := s.snap.Load().policyRows()
	for i := range rows {
		if rows[i].ID == "gatekeeper:K8sPSPHostNamespace/psp-host-namespace" {
			row = &rows[i]
		}
	}
	if row == nil {
		t.Fatalf("no row for the deployed host-namespace policy among %d", len(rows))
	}
	found := false
	for _, st := range row.Blocks {
		found = found || st.Href == "/tree/malicious-code-execution#d_mce-find-pod-with-hostpid"
	}
	if !found {
		t.Errorf("the policy's row does not list the hostPID step it blocks: %+v", row.Blocks)
	}
	body := get(t, s, "GET", "/policies?q=k8spsphostnamespace").Body.String()
	if !strings.Contains(body, `href="/tree/malicious-code-execution#d_mce-find-pod-with-hostpid"`) {
		t.Errorf("the filtered policy view lacks the hostPID step")
	}
	if n := strings.Count(body, `<tr class="policy"`); n == 0 || n == len(rows) {
		t.Errorf("the filter kept %d of %d rows", n, len(rows))
	}
}

// fromOtherTree reports whether any of parents is a subtree box of another tree.
func fromOtherTree(parents []*attacktrees.Node, tree string) bool {
	for _, p := range parents {
		if p.Tree != tree && p.Kind == attacktrees.KindSubtree {
			return true
		}
	}
	return false
}
