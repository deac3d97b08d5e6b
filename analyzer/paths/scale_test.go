package paths

import (
	"math/big"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// andOfOrs is an AND of n ORs of two distinct leaves: 2^n minimal cut sets in a diagram of
// about 2n nodes. Node 0 is the AND; OR i is node 1+3i with leaves 2+3i and 3+3i.
func andOfOrs(n int) []Node {
	nodes := []Node{{Op: And}}
	for range n {
		o := len(nodes)
		nodes[0].Children = append(nodes[0].Children, o)
		nodes = append(nodes, or(o+1, o+2), leaf(), leaf())
	}
	return nodes
}

func TestTenToTheThirtyPaths(t *testing.T) {
	e, err := New(Model{Nodes: andOfOrs(100)})
	if err != nil {
		t.Fatal(err)
	}
	want := new(big.Int).Lsh(big.NewInt(1), 100) // 1267650600228229401496703205376
	if got := e.Count(0); got.Cmp(want) != 0 {
		t.Fatalf("Count = %v, want 2^100 = %v", got, want)
	}
	got, total := collect(t, e, 0, nil, 10)
	if total.Cmp(want) != 0 || len(got) != 10 {
		t.Fatalf("Enumerate capped at 10: showed %d of %v, want 10 of %v", len(got), total, want)
	}
	// Every set takes one leaf of each OR; lexicographic order varies the last ORs first.
	first := make([]int, 100)
	for i := range first {
		first[i] = 2 + 3*i
	}
	second := slices.Clone(first)
	second[99] = 3 + 3*99
	third := slices.Clone(first)
	third[98] = 3 + 3*98
	if d := cmp.Diff([][]int{first, second, third}, got[:3]); d != "" {
		t.Errorf("first three sets (-want +got):\n%s", d)
	}
	// Blocking the first leaf of every OR leaves exactly one path.
	blocked := func(l int) bool { return l%3 == 2 }
	if got := e.CountAvoiding(0, blocked); got.Int64() != 1 {
		t.Errorf("CountAvoiding with one leaf of each OR blocked = %v, want 1", got)
	}
	hist := e.SizeHistogram(0, nil)
	if len(hist) != 1 || hist[100].Cmp(want) != 0 {
		t.Errorf("SizeHistogram = %v, want {100: 2^100}", hist)
	}
	// The diagram, not the number of paths, bounds memory: two nodes per OR and the terminals.
	if n := e.Nodes(); n > 2+2*100+300 {
		t.Errorf("diagram has %d nodes, want about 200", n)
	}
}

// chain builds gates g0..g(depth-1), g_i = op(leaf_i, g_{i+1}) (or with the children swapped),
// the last gate over two leaves. Node 2i is gate i, node 2i+1 its leaf.
func chain(depth int, op Op, gateFirst bool) []Node {
	nodes := make([]Node, 0, 2*depth+1)
	for i := range depth {
		l, next := 2*i+1, 2*i+2
		ch := []int{l, next}
		if gateFirst {
			ch = []int{next, l}
		}
		nodes = append(nodes, Node{Op: op, Children: ch}, leaf())
	}
	return append(nodes, leaf())
}

func TestDeepChains(t *testing.T) {
	const depth = 100_000
	for _, c := range []struct {
		name      string
		op        Op
		gateFirst bool
	}{
		{"and leaf first", And, false},
		{"and gate first", And, true},
		{"or leaf first", Or, false},
		{"or gate first", Or, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := New(Model{Nodes: chain(depth, c.op, c.gateFirst)})
			if err != nil {
				t.Fatal(err)
			}
			got, total := collect(t, e, 0, nil, 3)
			if c.op == And {
				if total.Int64() != 1 || len(got) != 1 || len(got[0]) != depth+1 {
					t.Fatalf("AND chain: %v sets, first of %d leaves; want one set of %d", total, len(got[0]), depth+1)
				}
				return
			}
			if total.Int64() != depth+1 {
				t.Fatalf("OR chain: %v sets, want %d", total, depth+1)
			}
			if d := cmp.Diff([][]int{{1}, {3}, {5}}, got); d != "" {
				t.Errorf("first three singletons (-want +got):\n%s", d)
			}
			// Blocking every leaf but the deepest leaves one path, found at the end of the chain.
			last := 2 * depth
			open, _ := collect(t, e, 0, func(l int) bool { return l != last }, 0)
			if d := cmp.Diff([][]int{{last}}, open); d != "" {
				t.Errorf("only the deepest leaf open (-want +got):\n%s", d)
			}
		})
	}
}

func TestSharedRootsComputeOnce(t *testing.T) {
	// Many goals over one shared subtree: the subtree's family is built once.
	nodes := andOfOrs(30)
	shared := 0
	for range 50 {
		nodes = append(nodes, or(shared, len(nodes)+1), leaf())
	}
	e, err := New(Model{Nodes: nodes})
	if err != nil {
		t.Fatal(err)
	}
	e.Count(0)
	before := e.Nodes()
	want := new(big.Int).Add(new(big.Int).Lsh(big.NewInt(1), 30), big.NewInt(1))
	for g := 3*30 + 1; g < len(nodes); g += 2 {
		if got := e.Count(g); got.Cmp(want) != 0 {
			t.Fatalf("goal %d: Count = %v, want 2^30+1", g, got)
		}
	}
	// Each goal adds one leaf node and a top: a few nodes each, never the shared AND again.
	if added := e.Nodes() - before; added > 50*40 {
		t.Errorf("50 goals over a shared AND added %d diagram nodes", added)
	}
}
