package paths

import (
	"math/rand/v2"
	"testing"
)

// TestCountEachAvoidingMatchesCountAvoiding: counting several roots with one blocked set gives
// what one CountAvoiding per root gives, on random models with random blocked leaves.
func TestCountEachAvoidingMatchesCountAvoiding(t *testing.T) {
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
		got := e.CountEachAvoiding(roots, func(i int) bool { return blocked[i] })
		for i, root := range roots {
			if want := e.CountAvoiding(root, func(i int) bool { return blocked[i] }); got[i].Cmp(want) != 0 {
				t.Fatalf("trial %d root %d: CountEachAvoiding %v, CountAvoiding %v", trial, root, got[i], want)
			}
		}
	}
}
