package attacktrees

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/internal/hostiletest"
)

// expansionCases pin each rule of docs/semantics.md "Subtree boxes" on small trees: the
// top-level goals of every tree and the minimal attack paths of every goal, as sorted leaf ids.
var expansionCases = []struct {
	name  string
	files []string
	goals map[string][]string
	paths map[string][]string // goal -> paths, each "leaf+leaf", sorted
}{
	{
		name: "box with children is AND(target, OR(children))",
		files: []string{
			"id: u\ntitle: U\nnodes:\n  - {id: gu, kind: goal, gate: and, label: GU, children: [u1, u2]}\n  - {id: u1, kind: step, label: U1}\n  - {id: u2, kind: step, label: U2}\n",
			"id: t\ntitle: T\nnodes:\n  - {id: g, kind: goal, gate: plain, label: G, children: [b]}\n  - {id: b, kind: subtree, label: B, target: gu, children: [c1, c2]}\n  - {id: c1, kind: step, label: C1}\n  - {id: c2, kind: step, label: C2}\n",
		},
		goals: map[string][]string{"u": {"gu"}, "t": {"g"}},
		paths: map[string][]string{
			"gu": {"u1+u2"},
			"g":  {"c1+u1+u2", "c2+u1+u2"},
		},
	},
	{
		name: "reference to a tree is the OR of its top-level goals",
		files: []string{
			"id: u\ntitle: U\nnodes:\n  - {id: g1, kind: goal, gate: plain, label: G1, children: [u1]}\n  - {id: g2, kind: goal, gate: and, label: G2, children: [u2, u3]}\n  - {id: u1, kind: step, label: U1}\n  - {id: u2, kind: step, label: U2}\n  - {id: u3, kind: step, label: U3}\n",
			"id: t\ntitle: T\nnodes:\n  - {id: g, kind: goal, gate: plain, label: G, children: [b]}\n  - {id: b, kind: subtree, label: B, target: u}\n",
		},
		goals: map[string][]string{"u": {"g1", "g2"}, "t": {"g"}},
		paths: map[string][]string{
			"g1": {"u1"},
			"g2": {"u2+u3"},
			"g":  {"u1", "u2+u3"},
		},
	},
	{
		name: "the root of a sub-tree page its box targets is not a goal",
		files: []string{
			"id: t\ntitle: T\nnodes:\n  - {id: g, kind: goal, gate: or, label: G, children: [b, l1]}\n  - {id: b, kind: subtree, label: 'ATTACK TREE: P', target: p}\n  - {id: l1, kind: step, label: L1}\n  - {id: p, kind: goal, gate: or, label: P, page: 2, children: [p1, p2]}\n  - {id: p1, kind: step, label: P1, page: 2}\n  - {id: p2, kind: step, label: P2, page: 2}\n",
			"id: u\ntitle: U\nnodes:\n  - {id: gu, kind: goal, gate: plain, label: GU, children: [r]}\n  - {id: r, kind: subtree, label: to T, target: t}\n",
		},
		goals: map[string][]string{"t": {"g"}, "u": {"gu"}},
		paths: map[string][]string{
			"g":  {"l1", "p1", "p2"},
			"gu": {"l1", "p1", "p2"},
		},
	},
	{
		// A box below the goal it targets refers back up: the goal stays a goal (it is no
		// sub-tree page), and the box adds nothing the goal does not already have.
		name: "box referring back to its own goal",
		files: []string{
			"id: t\ntitle: T\nnodes:\n  - {id: g, kind: goal, gate: or, label: G, children: [x, y]}\n  - {id: x, kind: step, label: X}\n  - {id: y, kind: and, label: Y, children: [b, l]}\n  - {id: b, kind: subtree, label: 'ATTACK TREE: T', target: g, children: [l]}\n  - {id: l, kind: step, label: L}\n",
		},
		goals: map[string][]string{"t": {"g"}},
		paths: map[string][]string{"g": {"x"}},
	},
	{
		// The two trees refer to each other, as the CNCF scenarios do; bb is a parentless box,
		// so a goal of its own. A path never runs back through a box it came through.
		name: "reference cycle is a least fixpoint",
		files: []string{
			"id: a\ntitle: A\nnodes:\n  - {id: ga, kind: goal, gate: plain, label: GA, children: [ba]}\n  - {id: ba, kind: subtree, label: to B, target: b, children: [a1]}\n  - {id: a1, kind: step, label: A1}\n  - {id: ga2, kind: goal, gate: plain, label: GA2, children: [a2]}\n  - {id: a2, kind: step, label: A2}\n",
			"id: b\ntitle: B\nnodes:\n  - {id: bb, kind: subtree, label: to A, target: a, children: [b1]}\n  - {id: b1, kind: step, label: B1}\n  - {id: gb2, kind: goal, gate: plain, label: GB2, children: [b2]}\n  - {id: b2, kind: step, label: B2}\n",
		},
		goals: map[string][]string{"a": {"ga", "ga2"}, "b": {"bb", "gb2"}},
		paths: map[string][]string{
			"ga":  {"a1+b2", "a1+a2+b1"},
			"ga2": {"a2"},
			"bb":  {"a2+b1", "a1+b1+b2"},
			"gb2": {"b2"},
		},
	},
	{
		// Inside a cycle an AND over a box reached again is unachievable, a 2-of-3 keeps going
		// while two children remain.
		name: "unachievable copies inside a cycle",
		files: []string{
			"id: a\ntitle: A\nnodes:\n  - {id: ga, kind: goal, gate: atleast, k: 2, label: GA, children: [ba, a1, x]}\n  - {id: ba, kind: subtree, label: to B, target: b}\n  - {id: a1, kind: step, label: A1}\n  - {id: x, kind: and, label: X, children: [ba, a2]}\n  - {id: a2, kind: step, label: A2}\n",
			"id: b\ntitle: B\nnodes:\n  - {id: gb, kind: goal, gate: or, label: GB, children: [bb, b1]}\n  - {id: bb, kind: subtree, label: to A, target: ga}\n  - {id: b1, kind: step, label: B1}\n",
		},
		goals: map[string][]string{"a": {"ga"}, "b": {"gb"}},
		paths: map[string][]string{
			// ga = 2 of (ba, a1, ba.a2) with ba = gb = bb + b1, bb = ga in context {ba, bb}: false.
			"ga": {"a1+b1", "a2+b1"},
			// gb = bb + b1 with bb = ga in context {bb}, where ba = b1 (bb is gone): every way
			// through bb needs b1 too, so b1 alone is the only minimal path.
			"gb": {"b1"},
		},
	},
}

func loadCase(t *testing.T, files []string) *Catalog {
	t.Helper()
	var trees []*Tree
	for i, src := range files {
		tr, err := Parse([]byte(src), fmt.Sprintf("f%d.yaml", i))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		trees = append(trees, tr)
	}
	c, err := Build(trees)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return c
}

// TestExpansionRules checks the expansion against the hand-computed paths and against the
// definition itself: the least fixpoint of the catalog's equations, iterated on every set of
// leaves (a brute-force oracle that never unfolds anything).
func TestExpansionRules(t *testing.T) {
	for _, tc := range expansionCases {
		t.Run(tc.name, func(t *testing.T) {
			c := loadCase(t, tc.files)
			goals := map[string][]string{}
			for _, tr := range c.Trees() {
				for _, g := range c.Goals(tr.ID) {
					goals[tr.ID] = append(goals[tr.ID], g.ID)
				}
			}
			if diff := cmp.Diff(tc.goals, goals); diff != "" {
				t.Errorf("goals (-want +got):\n%s", diff)
			}
			exp := c.Expansion()
			for goal, want := range tc.paths {
				g, ok := c.Node(goal)
				if !ok {
					t.Fatalf("no node %s", goal)
				}
				var leaves []*Node
				for _, n := range c.Reachable(g) {
					if c.IsLeaf(n) {
						leaves = append(leaves, n)
					}
				}
				sort.Strings(want)
				byExpansion := minimalSets(leaves, func(on map[*Node]bool) bool { return evalExpansion(exp, int(g.GraphID()), on) })
				if diff := cmp.Diff(want, byExpansion); diff != "" {
					t.Errorf("%s: expansion paths (-want +got):\n%s", goal, diff)
				}
				byFixpoint := minimalSets(leaves, func(on map[*Node]bool) bool { return leastFixpoint(c, on)[g] })
				if diff := cmp.Diff(want, byFixpoint); diff != "" {
					t.Errorf("%s: least fixpoint paths (-want +got):\n%s", goal, diff)
				}
			}
		})
	}
}

// minimalSets returns the minimal sets of leaves for which achieved holds, each as its sorted
// ids joined by '+', sorted. Brute force over every subset: for a handful of leaves only.
func minimalSets(leaves []*Node, achieved func(map[*Node]bool) bool) []string {
	var found [][]*Node
	for size := 0; size <= len(leaves); size++ {
		for mask := 0; mask < 1<<len(leaves); mask++ {
			if popcount(mask) != size {
				continue
			}
			on := map[*Node]bool{}
			var set []*Node
			for i, l := range leaves {
				if mask&(1<<i) != 0 {
					on[l] = true
					set = append(set, l)
				}
			}
			if !achieved(on) || hasSubset(found, set) {
				continue
			}
			found = append(found, set)
		}
	}
	out := []string{}
	for _, s := range found {
		ids := make([]string, len(s))
		for i, n := range s {
			ids[i] = n.ID
		}
		sort.Strings(ids)
		out = append(out, strings.Join(ids, "+"))
	}
	sort.Strings(out)
	return out
}

func popcount(m int) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

func hasSubset(found [][]*Node, set []*Node) bool {
	for _, f := range found {
		all := true
		for _, n := range f {
			if !slices.Contains(set, n) {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// evalExpansion evaluates an expansion node with the leaves in on achieved.
func evalExpansion(exp []Expanded, i int, on map[*Node]bool) bool {
	e := exp[i]
	if e.Gate == "" {
		return on[e.Node]
	}
	n := 0
	for _, ch := range e.Children {
		if evalExpansion(exp, ch, on) {
			n++
		}
	}
	switch e.Gate {
	case GateAnd:
		return n == len(e.Children)
	case GateAtLeast:
		return n >= e.K
	default:
		return n > 0
	}
}

// leastFixpoint iterates the catalog's equations from "nothing achieved" until nothing
// changes: the least fixpoint, by definition.
func leastFixpoint(c *Catalog, on map[*Node]bool) map[*Node]bool {
	val := map[*Node]bool{}
	for changed := true; changed; {
		changed = false
		for _, n := range c.Nodes() {
			var v bool
			switch {
			case n.Kind == KindNote:
			case c.IsLeaf(n):
				v = on[n]
			default:
				kids := 0
				for _, ch := range c.Children(n) {
					if val[ch] {
						kids++
					}
				}
				gate, k := n.Combine()
				switch {
				case n.Kind == KindSubtree:
					target := false
					for _, tg := range c.Targets(n) {
						target = target || val[tg]
					}
					v = target && (len(c.Children(n)) == 0 || kids > 0)
				case gate == GateAnd:
					v = kids == len(c.Children(n))
				case gate == GateAtLeast:
					v = kids >= k
				default:
					v = kids > 0
				}
			}
			if v && !val[n] {
				val[n] = true
				changed = true
			}
		}
	}
	return val
}

// TestExpansionCatalogIsAcyclic: the embedded catalog's expansion has no cycle, keeps the
// catalog's indices for its nodes, and copies only nodes on the scenarios' reference cycle.
func TestExpansionCatalogIsAcyclic(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	exp := c.Expansion()
	for i, n := range c.Nodes() {
		if exp[i].Node != n {
			t.Fatalf("expansion[%d] is %v, want catalog node %s", i, exp[i].Node, n.ID)
		}
	}
	state := make([]uint8, len(exp))
	var visit func(int)
	visit = func(i int) {
		if state[i] == 2 {
			return
		}
		if state[i] == 1 {
			t.Fatalf("expansion has a cycle through %d (%s)", i, exp[i].Node.ID)
		}
		state[i] = 1
		for _, ch := range exp[i].Children {
			visit(ch)
		}
		state[i] = 2
	}
	for i := range exp {
		visit(i)
	}
	for _, e := range exp[len(c.Nodes()):] {
		if e.Node.Tree != "scenario-attacker-on-network" && e.Node.Tree != "scenario-compromised-container" {
			t.Errorf("copy of %s (tree %s): only the scenarios refer to each other", e.Node.ID, e.Node.Tree)
		}
	}
}

// TestExpansionBounded: boxes that all refer back to their own tree make every subset of them a
// context; loading refuses the catalog quickly, naming a box, instead of unfolding 2^30 copies.
func TestExpansionBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("id: many\ntitle: Many\nnodes:\n  - {id: g, kind: goal, gate: or, label: G, children: [l")
	for i := range 30 {
		fmt.Fprintf(&b, ", b%d", i)
	}
	b.WriteString("]}\n  - {id: l, kind: step, label: L}\n")
	for i := range 30 {
		fmt.Fprintf(&b, "  - {id: b%d, kind: subtree, label: B%d, target: many, children: [c%d]}\n  - {id: c%d, kind: step, label: C%d}\n", i, i, i, i, i)
	}
	hostiletest.Within(t, func() {
		tree, err := Parse([]byte(b.String()), "many.yaml")
		if err != nil {
			t.Fatal(err)
		}
		_, err = Build([]*Tree{tree})
		if err == nil || !strings.Contains(err.Error(), "many.yaml:") || !strings.Contains(err.Error(), "unfolding them needs more than") {
			t.Fatalf("Build: %v, want a file:line error about the unfolding", err)
		}
		if n := strings.Count(err.Error(), "\n"); n != 0 {
			t.Errorf("Build reported %d more errors than the unfolding:\n%v", n, err)
		}
	})
}

// TestExpansionMatchesFixpointRandom compares the expansion with the least-fixpoint oracle on
// random small catalogs of three trees whose boxes refer to trees and nodes anywhere, cycles
// included: every goal's minimal paths must agree.
func TestExpansionMatchesFixpointRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 2026))
	checked, cyclic := 0, 0
	for trial := 0; trial < 1000; trial++ {
		const trees, size = 3, 6
		kinds := make([][]string, trees)
		for k := range trees {
			kinds[k] = make([]string, size)
			kinds[k][0] = "goal"
			for j := 1; j < size; j++ {
				kinds[k][j] = []string{"leaf", "leaf", "and", "or", "step", "subtree", "atleast"}[r.IntN(7)]
			}
		}
		id := func(k, j int) string { return fmt.Sprintf("t%dn%d", k, j) }
		var files []string
		for k := range trees {
			children := make([][]string, size)
			inner := func(j int) bool { return kinds[k][j] != "leaf" }
			for j := 1; j < size; j++ {
				var ps []int
				for p := 0; p < j; p++ {
					if inner(p) {
						ps = append(ps, p)
					}
				}
				p := ps[r.IntN(len(ps))]
				children[p] = append(children[p], id(k, j))
				if q := ps[r.IntN(len(ps))]; q != p && r.IntN(2) == 0 {
					children[q] = append(children[q], id(k, j))
				}
			}
			var b strings.Builder
			fmt.Fprintf(&b, "id: t%d\ntitle: T%d\nnodes:\n", k, k)
			for j := range size {
				kind, ch := kinds[k][j], children[j]
				list := "[" + strings.Join(ch, ", ") + "]"
				switch {
				case kind == "goal":
					fmt.Fprintf(&b, "  - {id: %s, kind: goal, gate: %s, label: N, children: %s}\n", id(k, j), []string{"or", "and", "plain"}[r.IntN(3)], list)
				case kind == "subtree":
					target := fmt.Sprintf("t%d", r.IntN(trees))
					if r.IntN(2) == 0 {
						target = id(r.IntN(trees), r.IntN(size))
					}
					if len(ch) == 0 {
						fmt.Fprintf(&b, "  - {id: %s, kind: subtree, label: N, target: %s}\n", id(k, j), target)
					} else {
						fmt.Fprintf(&b, "  - {id: %s, kind: subtree, label: N, target: %s, children: %s}\n", id(k, j), target, list)
					}
				case len(ch) == 0 || kind == "leaf":
					fmt.Fprintf(&b, "  - {id: %s, kind: step, label: N}\n", id(k, j))
				case kind == "atleast":
					fmt.Fprintf(&b, "  - {id: %s, kind: atleast, k: %d, label: N, children: %s}\n", id(k, j), 1+r.IntN(len(ch)), list)
				default:
					fmt.Fprintf(&b, "  - {id: %s, kind: %s, label: N, children: %s}\n", id(k, j), kind, list)
				}
			}
			files = append(files, b.String())
		}
		var parsed []*Tree
		for i, src := range files {
			tr, err := Parse([]byte(src), fmt.Sprintf("f%d.yaml", i))
			if err != nil {
				t.Fatalf("trial %d: generated tree does not parse: %v\n%s", trial, err, src)
			}
			parsed = append(parsed, tr)
		}
		c, err := Build(parsed)
		if err != nil {
			continue // a box every way round a cycle leads back to, or a box naming only itself
		}
		exp := c.Expansion()
		if c.referenceCycles() {
			cyclic++
		}
		for _, tr := range c.Trees() {
			for _, g := range c.Goals(tr.ID) {
				var leaves []*Node
				for _, n := range c.Reachable(g) {
					if c.IsLeaf(n) {
						leaves = append(leaves, n)
					}
				}
				if len(leaves) > 10 {
					continue
				}
				byExpansion := minimalSets(leaves, func(on map[*Node]bool) bool { return evalExpansion(exp, int(g.GraphID()), on) })
				byFixpoint := minimalSets(leaves, func(on map[*Node]bool) bool { return leastFixpoint(c, on)[g] })
				if diff := cmp.Diff(byFixpoint, byExpansion); diff != "" {
					t.Fatalf("trial %d, goal %s: expansion paths (-fixpoint +expansion):\n%s\n%s", trial, g.ID, diff, strings.Join(files, "---\n"))
				}
				checked++
			}
		}
	}
	if checked < 500 || cyclic < 150 {
		t.Errorf("only %d goals compared, %d catalogs with reference cycles: the generator makes too few", checked, cyclic)
	}
	t.Logf("%d goals compared, %d catalogs with reference cycles", checked, cyclic)
}
