package paths

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

// The diagram operations against brute force on families of small sets: a set is a bitmask
// over at most 8 variables, a family a sorted list of distinct masks. Equal families are one
// node id (hash-consing), so each result is compared with the diagram built from the expected
// sets.

type family []uint16

func norm(f family) family {
	slices.Sort(f)
	return slices.Compact(f)
}

func bruteMinimal(f family) family {
	var out family
	for _, a := range f {
		minimal := true
		for _, b := range f {
			if b != a && b&a == b {
				minimal = false
				break
			}
		}
		if minimal {
			out = append(out, a)
		}
	}
	return norm(out)
}

func bruteProduct(f, g family) family {
	var out family
	for _, a := range f {
		for _, b := range g {
			out = append(out, a|b)
		}
	}
	return norm(out)
}

// bruteWithout keeps the sets of p that hold no set of q.
func bruteWithout(p, q family) family {
	var out family
	for _, a := range p {
		if !slices.ContainsFunc(q, func(b uint16) bool { return b&a == b }) {
			out = append(out, a)
		}
	}
	return norm(out)
}

func bruteDiff(f, g family) family {
	var out family
	for _, a := range f {
		if !slices.Contains(g, a) {
			out = append(out, a)
		}
	}
	return norm(out)
}

// build returns the diagram of f; variable v is rank v.
func build(z *zbdd, f family) int32 {
	r := zero
	for _, s := range f {
		acc := one
		for v := 15; v >= 0; v-- {
			if s&(1<<v) != 0 {
				acc = z.mk(int32(v), zero, acc)
			}
		}
		r = z.Union(r, acc)
	}
	return r
}

// randomFamily draws up to n sets over nv variables, biased towards small sets.
func randomFamily(r *rand.Rand, nv, n int) family {
	var f family
	for range r.IntN(n + 1) {
		var s uint16
		for range 1 + r.IntN(4) {
			s |= 1 << r.IntN(nv)
		}
		f = append(f, s)
	}
	return norm(f)
}

// related derives a family from f that shares sets, subsets and supersets with it, as the
// children of gates over shared subtrees do.
func related(r *rand.Rand, f family, nv int) family {
	var g family
	for _, s := range f {
		switch r.IntN(4) {
		case 0:
			g = append(g, s)
		case 1:
			g = append(g, s|1<<r.IntN(nv))
		case 2:
			if s&(s-1) != 0 {
				g = append(g, s&^(1<<bits.TrailingZeros16(s)))
			}
		}
	}
	return norm(append(g, randomFamily(r, nv, 3)...))
}

func TestOperationsAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 2026))
	for i := range 3000 {
		nv := 2 + r.IntN(7)
		f := randomFamily(r, nv, 8)
		var g family
		if i%2 == 0 {
			g = related(r, f, nv)
		} else {
			g = randomFamily(r, nv, 8)
		}
		// One store for many cases, sometimes collected, so that the caches and the min memo
		// carry state from earlier operations as they do in the engine.
		z := newZBDD()
		fz, gz := build(z, f), build(z, g)
		fm, gm := bruteMinimal(f), bruteMinimal(g)
		fmz, gmz := z.Minimal(fz), z.Minimal(gz)
		check := func(name string, got int32, want family) {
			t.Helper()
			if w := build(z, want); got != w {
				t.Fatalf("case %d, f=%v g=%v: %s: got %v, want %v", i, f, g, name, sets16(z, got), want)
			}
		}
		check("Minimal(f)", fmz, fm)
		check("Union", z.Union(fz, gz), norm(append(slices.Clone(f), g...)))
		check("Product", z.Product(fz, gz), bruteProduct(f, g))
		check("Without", z.Without(fz, gz), bruteWithout(f, g))
		check("Diff", z.Diff(fz, gz), bruteDiff(f, g))
		want := bruteMinimal(bruteProduct(fm, gm))
		check("MinProduct", z.MinProduct(fmz, gmz), want)
		check("MinProductSplit", z.MinProductSplit(fmz, gmz), want)
		check("MinProductSplit swapped", z.MinProductSplit(gmz, fmz), want)
		check("MinUnion", z.MinUnion(fmz, gmz), bruteMinimal(norm(append(slices.Clone(fm), gm...))))
		if i%7 == 0 {
			roots := []int32{fmz, gmz}
			z.gc(roots)
			check("MinProductSplit after gc", z.MinProductSplit(roots[0], roots[1]), want)
		}
	}
}

// sets16 lists the sets of a small diagram as masks, for messages.
func sets16(z *zbdd, f int32) family {
	var out family
	var walk func(id int32, s uint16)
	walk = func(id int32, s uint16) {
		switch id {
		case zero:
			return
		case one:
			out = append(out, s)
			return
		}
		n := z.nodes[id]
		walk(n.lo, s)
		walk(n.hi, s|1<<n.v)
	}
	walk(f, 0)
	return norm(out)
}

// TestSharedGatesAgainstOracle checks whole models whose AND gates take overlapping OR gates
// (the shape MinProductSplit takes apart), in both variable orders.
func TestSharedGatesAgainstOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 8))
	for i := range 300 {
		nLeaves := 4 + r.IntN(10)
		nGates := 3 + r.IntN(10)
		nodes := make([]Node, nGates+nLeaves)
		for g := range nGates {
			var ch []int
			for range 2 + r.IntN(3) {
				// Mostly the next few gates, so that siblings share children.
				if g+1 < nGates && r.IntN(3) > 0 {
					ch = append(ch, g+1+r.IntN(min(3, nGates-g-1)))
				} else {
					ch = append(ch, nGates+r.IntN(nLeaves))
				}
			}
			slices.Sort(ch)
			ch = slices.Compact(ch)
			switch {
			case r.IntN(6) == 0 && len(ch) >= 2:
				nodes[g] = atleast(2, ch...)
			case g%2 == 0:
				nodes[g] = and(ch...)
			default:
				nodes[g] = or(ch...)
			}
		}
		for l := nGates; l < len(nodes); l++ {
			nodes[l] = leaf()
		}
		want := make([][][]int, nGates)
		for root := range nGates {
			want[root] = oracle(nodes, root)
		}
		for _, opts := range [][]Option{nil, {WithLeafOrder()}} {
			t.Run(fmt.Sprint(i, len(opts)), func(t *testing.T) {
				e, err := New(Model{Nodes: nodes}, opts...)
				if err != nil {
					t.Fatal(err)
				}
				for root, want := range want {
					got := e.Count(root)
					if got.Int64() != int64(len(want)) {
						t.Fatalf("root %d of %v: %v minimal cut sets, oracle %d", root, nodes, got, len(want))
					}
					if opts != nil {
						sets, _ := collect(t, e, root, nil, 0)
						if !slices.EqualFunc(sets, want, slices.Equal) {
							t.Fatalf("root %d of %v: %v, oracle %v", root, nodes, sets, want)
						}
					}
				}
			})
		}
	}
}
