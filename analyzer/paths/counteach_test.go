package paths

import (
	"math/rand/v2"
	"testing"
)

// TestCountEachMaskedMatchesCountAvoiding: counting several roots with one blocked set gives
// what one CountAvoiding per root gives, on random models with random blocked leaves.
func TestCountEachMaskedMatchesCountAvoiding(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 28))
	for trial := 0; trial < 50; trial++ {
		nodes := randomModel(r, 12, 10)
		e, err := New(Model{Nodes: nodes})
		if err != nil {
			t.Fatal(err)
		}
		blocked := make([]bool, len(nodes))
		for i := range blocked {
			blocked[i] = r.IntN(4) == 0
		}
		var roots []int
		for i, n := range nodes {
			if n.Op != Leaf {
				roots = append(roots, i)
			}
		}
		// Half of the blocked leaves go in the mask, the rest are passed as extra.
		var extra []int
		inMask := make([]bool, len(nodes))
		for i, b := range blocked {
			if b && r.IntN(2) == 0 {
				extra = append(extra, i)
			} else {
				inMask[i] = b
			}
		}
		mask := e.NewMask(func(i int) bool { return inMask[i] })
		got := e.CountEachMasked(roots, mask, extra)
		for i, root := range roots {
			if want := e.CountAvoiding(root, func(i int) bool { return blocked[i] }); got[i].Cmp(want) != 0 {
				t.Fatalf("trial %d root %d: CountEachMasked %v, CountAvoiding %v", trial, root, got[i], want)
			}
		}
		// The mask is as it was: counting again with no extra gives the mask alone.
		again := e.CountEachMasked(roots, mask, nil)
		for i, root := range roots {
			if want := e.CountAvoiding(root, func(i int) bool { return inMask[i] }); again[i].Cmp(want) != 0 {
				t.Fatalf("trial %d root %d: mask changed by a call: %v, want %v", trial, root, again[i], want)
			}
		}
	}
}
