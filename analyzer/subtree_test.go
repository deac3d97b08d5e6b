package analyzer

import (
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/threatcov/threatcov/internal/treetest"
)

// TestSubtreeBoxPaths lists, through the path engine, the minimal paths of small catalogs that
// pin each rule of docs/semantics.md "Subtree boxes" (attacktrees' expansion tests check the
// same rules against a least-fixpoint oracle; this checks what the analysis counts and lists).
func TestSubtreeBoxPaths(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  map[string][]string
	}{
		{
			name: "box with children, reference to a tree with two goals, sub-tree page",
			files: []string{
				"id: u\ntitle: U\nnodes:\n  - {id: g1, kind: goal, gate: plain, label: G1, children: [u1]}\n  - {id: g2, kind: goal, gate: and, label: G2, children: [u2, u3]}\n  - {id: u1, kind: step, label: U1}\n  - {id: u2, kind: step, label: U2}\n  - {id: u3, kind: step, label: U3}\n",
				"id: t\ntitle: T\nnodes:\n  - {id: g, kind: goal, gate: or, label: G, children: [b, pb]}\n  - {id: b, kind: subtree, label: 'ATTACK TREE: U', target: u, children: [c1, c2]}\n  - {id: c1, kind: step, label: C1}\n  - {id: c2, kind: step, label: C2}\n  - {id: pb, kind: subtree, label: 'ATTACK TREE: P', target: p}\n  - {id: p, kind: goal, gate: and, label: P, page: 2, children: [p1, p2]}\n  - {id: p1, kind: step, label: P1, page: 2}\n  - {id: p2, kind: step, label: P2, page: 2}\n",
			},
			want: map[string][]string{
				"g1": {"u1"},
				"g2": {"u2+u3"},
				"g":  {"c1+u1", "c2+u1", "p1+p2", "c1+u2+u3", "c2+u2+u3"},
			},
		},
		{
			name: "reference cycle",
			files: []string{
				"id: a\ntitle: A\nnodes:\n  - {id: ga, kind: goal, gate: plain, label: GA, children: [ba]}\n  - {id: ba, kind: subtree, label: to B, target: b, children: [a1]}\n  - {id: a1, kind: step, label: A1}\n  - {id: ga2, kind: goal, gate: plain, label: GA2, children: [a2]}\n  - {id: a2, kind: step, label: A2}\n",
				"id: b\ntitle: B\nnodes:\n  - {id: bb, kind: subtree, label: to A, target: a, children: [b1]}\n  - {id: b1, kind: step, label: B1}\n  - {id: gb2, kind: goal, gate: plain, label: GB2, children: [b2]}\n  - {id: b2, kind: step, label: B2}\n",
			},
			want: map[string][]string{
				"ga":  {"a1+b2", "a1+a2+b1"},
				"ga2": {"a2"},
				"bb":  {"a2+b1", "a1+b1+b2"},
				"gb2": {"b2"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := treetest.Catalog(t, tt.files...)
			m, err := buildModel(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, tr := range c.Trees() {
				for _, g := range c.Goals(tr.ID) {
					got[g.ID] = []string{}
					m.engine.Enumerate(int(g.GraphID()), nil, 100, func(leaves []int) bool {
						got[g.ID] = append(got[g.ID], strings.Join(m.path(leaves).Steps, "+"))
						return true
					})
					if n := m.engine.Count(int(g.GraphID())); n.Int64() != int64(len(got[g.ID])) {
						t.Errorf("%s: Count %s, Enumerate listed %d", g.ID, n, len(got[g.ID]))
					}
				}
			}
			for _, ps := range tt.want {
				sort.Strings(ps)
			}
			for _, ps := range got {
				sort.Strings(ps)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("paths per goal (-want +got):\n%s", diff)
			}
		})
	}
}
