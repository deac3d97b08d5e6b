package paths

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// collect returns every set Enumerate yields, copied.
func collect(t *testing.T, e *Engine, root int, blocked func(int) bool, max int) ([][]int, *big.Int) {
	t.Helper()
	var out [][]int
	shown, total := e.Enumerate(root, blocked, max, func(l []int) bool {
		out = append(out, slices.Clone(l))
		return true
	})
	if shown != len(out) {
		t.Fatalf("Enumerate says it showed %d sets, yielded %d", shown, len(out))
	}
	return out, total
}

// engineSets runs the engine on one fixture and checks that Count, Enumerate and SizeHistogram
// agree with each other.
func engineSets(t *testing.T, nodes []Node, root int, opts ...Option) [][]int {
	t.Helper()
	e, err := New(Model{Nodes: nodes}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	got, total := collect(t, e, root, nil, 0)
	if c := e.Count(root); c.Cmp(total) != 0 || c.Int64() != int64(len(got)) {
		t.Errorf("Count = %v, Enumerate total = %v, enumerated %d", c, total, len(got))
	}
	hist := map[int]int64{}
	for _, s := range got {
		hist[len(s)]++
	}
	gotHist := map[int]int64{}
	for s, c := range e.SizeHistogram(root, nil) {
		gotHist[s] = c.Int64()
	}
	if d := cmp.Diff(hist, gotHist); d != "" {
		t.Errorf("SizeHistogram disagrees with enumeration (-enumerated +histogram):\n%s", d)
	}
	return got
}

func TestFixtures(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			want := oracle(f.nodes, f.root)
			if f.want != nil {
				if d := cmp.Diff(f.want, want); d != "" {
					t.Fatalf("hand-computed answer disagrees with the oracle (-hand +oracle):\n%s", d)
				}
			}
			if d := cmp.Diff(want, engineSets(t, f.nodes, f.root, WithLeafOrder())); d != "" {
				t.Errorf("engine (leaf order) disagrees with the oracle (-oracle +engine):\n%s", d)
			}
			got := engineSets(t, f.nodes, f.root)
			for _, s := range got {
				slices.Sort(s)
			}
			sortSets(got)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("engine (dfs order) disagrees with the oracle (-oracle +engine):\n%s", d)
			}
		})
	}
}

// randomModel builds a DAG of nLeaves leaves and nGates gates; gate i takes children among the
// nodes after it, so the model is acyclic and node 0 is a gate reaching much of the rest.
func randomModel(r *rand.Rand, nLeaves, nGates int) []Node {
	n := nGates + nLeaves
	nodes := make([]Node, n)
	for i := range nGates {
		k := 1 + r.IntN(4)
		var ch []int
		for range k {
			ch = append(ch, i+1+r.IntN(n-i-1))
		}
		switch r.IntN(5) {
		case 0, 1:
			nodes[i] = and(ch...)
		case 2, 3:
			nodes[i] = or(ch...)
		default:
			nodes[i] = atleast(1+r.IntN(len(ch)), ch...)
		}
	}
	for i := nGates; i < n; i++ {
		nodes[i] = leaf()
	}
	return nodes
}

func TestRandomAgainstOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 11))
	for i := range 400 {
		nodes := randomModel(r, 2+r.IntN(13), 1+r.IntN(12))
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			e, err := New(Model{Nodes: nodes}, WithLeafOrder())
			if err != nil {
				t.Fatal(err)
			}
			// Every gate is a root: the families of shared nodes must not depend on which root
			// was asked first.
			for root := range nodes {
				if nodes[root].Op == Leaf {
					continue
				}
				if root%3 == 1 {
					// Collect garbage between roots: kept families must survive renumbering
					// and later roots must build on them correctly.
					e.z.gc(e.fam)
				}
				want := oracle(nodes, root)
				got, _ := collect(t, e, root, nil, 0)
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("root %d of %v (-oracle +engine):\n%s", root, nodes, d)
				}
				// Blocking leaves restricts the family: the oracle's sets without blocked leaves.
				blocked := func(l int) bool { return l%3 == 0 }
				var wantOpen [][]int
				for _, s := range want {
					if !slices.ContainsFunc(s, blocked) {
						wantOpen = append(wantOpen, s)
					}
				}
				gotOpen, total := collect(t, e, root, blocked, 0)
				if d := cmp.Diff(wantOpen, gotOpen); d != "" {
					t.Fatalf("root %d of %v, blocked l%%3==0 (-oracle +engine):\n%s", root, nodes, d)
				}
				if total.Int64() != int64(len(wantOpen)) || e.CountAvoiding(root, blocked).Cmp(total) != 0 {
					t.Fatalf("root %d: open count %v / %v, want %d", root, total, e.CountAvoiding(root, blocked), len(wantOpen))
				}
			}
		})
	}
}

func TestEnumerateCapAndStop(t *testing.T) {
	i := slices.IndexFunc(fixtures, func(f fixture) bool { return f.name == "two of three etcd members" })
	f := fixtures[i]
	e, err := New(Model{Nodes: f.nodes})
	if err != nil {
		t.Fatal(err)
	}
	got, total := collect(t, e, 0, nil, 5)
	if d := cmp.Diff(f.want[:5], got); d != "" {
		t.Errorf("capped at 5 (-want +got):\n%s", d)
	}
	if total.Int64() != 12 {
		t.Errorf("total = %v, want 12", total)
	}
	calls := 0
	shown, _ := e.Enumerate(0, nil, 0, func([]int) bool { calls++; return calls < 3 })
	if shown != 3 || calls != 3 {
		t.Errorf("yield returning false on the third set: shown %d, calls %d", shown, calls)
	}
	all := func(int) bool { return true }
	shown, total = e.Enumerate(0, all, 0, func([]int) bool { t.Error("yielded a set with every leaf blocked"); return true })
	if shown != 0 || total.Sign() != 0 {
		t.Errorf("everything blocked: shown %d, total %v", shown, total)
	}
}

func TestNewRejects(t *testing.T) {
	cases := []struct {
		name  string
		nodes []Node
		want  string
	}{
		{"child out of range", []Node{or(1, 5), leaf()}, "node 0: child 5 out of range [0,2)"},
		{"negative child", []Node{or(-1)}, "node 0: child -1 out of range [0,1)"},
		{"leaf with children", []Node{{Op: Leaf, Children: []int{1}}, leaf()}, "node 0: a leaf has no children, this one has 1"},
		{"empty and", []Node{and()}, "node 0: and gate without children"},
		{"k zero", []Node{atleast(0, 1), leaf()}, "node 0: atleast needs 1 <= k <= 1 children, k is 0"},
		{"k too big", []Node{atleast(3, 1, 2), leaf(), leaf()}, "node 0: atleast needs 1 <= k <= 2 children, k is 3"},
		{"unknown op", []Node{{Op: 9}}, "node 0: unknown op 9"},
		{"cycle", []Node{or(1), and(2, 3), or(1), leaf()}, "model has a cycle: 1 -> 2 -> 1"},
		{"self loop", []Node{or(0)}, "model has a cycle: 0 -> 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(Model{Nodes: c.nodes})
			if err == nil {
				t.Fatal("New accepted the model")
			}
			if err.Error() != c.want {
				t.Errorf("error %q, want %q", err, c.want)
			}
		})
	}
	_, err := New(Model{Nodes: []Node{or(1), and(2, 3), or(1), leaf()}})
	var ce *CycleError
	if !errors.As(err, &ce) || !slices.Equal(ce.Cycle, []int{1, 2}) {
		t.Errorf("cycle error %#v, want a *CycleError with cycle [1 2]", err)
	}
}
