package paths

import (
	"math/bits"
	"slices"
)

// fixture is one model with a root and, where computed by hand, its minimal cut sets as sorted
// leaf index lists in the order Enumerate must give them (leaves are numbered depth-first in
// every fixture, so rank order is index order). The same table drives the engine, the
// brute-force oracle and SCRAM.
type fixture struct {
	name  string
	nodes []Node
	root  int
	want  [][]int // nil: no hand-computed answer, the oracle decides
}

func leaf() Node                   { return Node{Op: Leaf} }
func and(c ...int) Node            { return Node{Op: And, Children: c} }
func or(c ...int) Node             { return Node{Op: Or, Children: c} }
func atleast(k int, c ...int) Node { return Node{Op: AtLeast, K: k, Children: c} }
func sets(s ...[]int) [][]int      { return s }
func set(l ...int) []int           { return l }

var fixtures = []fixture{
	{
		name:  "single leaf under or",
		nodes: []Node{or(1), leaf()},
		want:  sets(set(1)),
	},
	{
		name:  "and of two leaves",
		nodes: []Node{and(1, 2), leaf(), leaf()},
		want:  sets(set(1, 2)),
	},
	{
		name:  "or of two ands",
		nodes: []Node{or(1, 4), and(2, 3), leaf(), leaf(), and(5, 6), leaf(), leaf()},
		want:  sets(set(2, 3), set(5, 6)),
	},
	{
		// a + a.b = a
		name:  "absorption",
		nodes: []Node{or(1, 2), leaf(), and(1, 3), leaf()},
		want:  sets(set(1)),
	},
	{
		// (a+b).(a+c) = a + b.c
		name:  "and over shared leaf in two ors",
		nodes: []Node{and(1, 4), or(2, 3), leaf(), leaf(), or(2, 5), leaf()},
		want:  sets(set(2), set(3, 5)),
	},
	{
		// the same OR reached twice: (a+b).(a+b) = a + b
		name:  "and over one shared or",
		nodes: []Node{and(1, 1), or(2, 3), leaf(), leaf()},
		want:  sets(set(2), set(3)),
	},
	{
		// (a+b).(c+d) with the OR shared by another parent
		name:  "shared or under two gates",
		nodes: []Node{or(1, 6), and(2, 5), or(3, 4), leaf(), leaf(), or(7, 8), and(2, 9), leaf(), leaf(), leaf()},
		want:  sets(set(3, 7), set(3, 8), set(3, 9), set(4, 7), set(4, 8), set(4, 9)),
	},
	{
		name:  "atleast 2 of 3",
		nodes: []Node{atleast(2, 1, 2, 3), leaf(), leaf(), leaf()},
		want:  sets(set(1, 2), set(1, 3), set(2, 3)),
	},
	{
		name:  "atleast 3 of 3 is and",
		nodes: []Node{atleast(3, 1, 2, 3), leaf(), leaf(), leaf()},
		want:  sets(set(1, 2, 3)),
	},
	{
		name:  "atleast 1 of 3 is or",
		nodes: []Node{atleast(1, 1, 2, 3), leaf(), leaf(), leaf()},
		want:  sets(set(1), set(2), set(3)),
	},
	{
		// 2 of (a, a.b, c): {a,b} makes two children true, {a,c} two, {b,c} only one.
		name:  "atleast 2 of 3 with a shared leaf",
		nodes: []Node{atleast(2, 1, 2, 4), leaf(), and(1, 3), leaf(), leaf()},
		want:  sets(set(1, 3), set(1, 4)),
	},
	{
		// 2 of (a+b, b+c, c+a) = a + b + c: each leaf is in two of the ORs
		name:  "atleast over ors sharing leaves",
		nodes: []Node{atleast(2, 1, 4, 6), or(2, 3), leaf(), leaf(), or(3, 5), leaf(), or(5, 2)},
		want:  sets(set(2), set(3), set(5)),
	},
	{
		// 2 of (a.b, b.c, c.a) = a.b.c: any two of the ANDs need all three leaves
		name:  "atleast over ands sharing leaves",
		nodes: []Node{atleast(2, 1, 4, 6), and(2, 3), leaf(), leaf(), and(3, 5), leaf(), and(5, 2)},
		want:  sets(set(2, 3, 5)),
	},
	{
		// etcd: compromise 2 of 3 members, each by stealing its key or exploiting it
		name: "two of three etcd members",
		nodes: []Node{
			atleast(2, 1, 4, 7),
			or(2, 3), leaf(), leaf(),
			or(5, 6), leaf(), leaf(),
			or(8, 9), leaf(), leaf(),
		},
		want: sets(
			set(2, 5), set(2, 6), set(2, 8), set(2, 9),
			set(3, 5), set(3, 6), set(3, 8), set(3, 9),
			set(5, 8), set(5, 9), set(6, 8), set(6, 9),
		),
	},
	{
		name:  "nested and or",
		nodes: []Node{and(1, 2), or(3, 4), or(4, 5), leaf(), leaf(), leaf()},
		want:  sets(set(4), set(3, 5)),
	},
	{
		name: "diamond of gates",
		// top = and(x, y), x = or(s, a), y = or(s, b), s = and(c, d)
		nodes: []Node{and(1, 5), or(2, 4), and(3, 7), leaf(), leaf(), or(2, 6), leaf(), leaf()},
		want:  sets(set(3, 7), set(4, 6)),
	},
}

// oracle returns the minimal cut sets of root by trying every subset of the leaves (at most 20
// leaves), sorted by size then lexicographically by leaf index.
func oracle(nodes []Node, root int) [][]int {
	var leaves []int
	for i, n := range nodes {
		if n.Op == Leaf {
			leaves = append(leaves, i)
		}
	}
	if len(leaves) > 20 {
		panic("oracle: too many leaves")
	}
	order := topo(nodes)
	val := make([]bool, len(nodes))
	eval := func(mask uint32) bool {
		for _, l := range leaves {
			val[l] = false
		}
		for i, l := range leaves {
			val[l] = mask&(1<<i) != 0
		}
		for _, i := range order {
			n := nodes[i]
			if n.Op == Leaf {
				continue
			}
			c := 0
			for _, ch := range n.Children {
				if val[ch] {
					c++
				}
			}
			switch n.Op {
			case And:
				val[i] = c == len(n.Children)
			case Or:
				val[i] = c > 0
			case AtLeast:
				val[i] = c >= n.K
			}
		}
		return val[root]
	}
	var out [][]int
	for mask := uint32(0); mask < 1<<len(leaves); mask++ {
		if !eval(mask) {
			continue
		}
		minimal := true
		for b := mask; b != 0; b &= b - 1 {
			if eval(mask &^ (b & -b)) {
				minimal = false
				break
			}
		}
		if minimal {
			var s []int
			for b := mask; b != 0; b &= b - 1 {
				s = append(s, leaves[bits.TrailingZeros32(b)])
			}
			out = append(out, s)
		}
	}
	sortSets(out)
	return out
}

func sortSets(s [][]int) {
	slices.SortFunc(s, func(a, b []int) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return slices.Compare(a, b)
	})
}

// topo returns the nodes children first (test models are small; recursion is fine here).
func topo(nodes []Node) []int {
	seen := make([]bool, len(nodes))
	var out []int
	var visit func(int)
	visit = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		for _, c := range nodes[i].Children {
			visit(c)
		}
		out = append(out, i)
	}
	for i := range nodes {
		visit(i)
	}
	return out
}
