package paths

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestReachableReusesCleanScratch: reachable's bitmap is clear after every call, so calls in any
// order over a growing store list exactly the nodes a fresh walk finds.
func TestReachableReusesCleanScratch(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 11))
	for trial := 0; trial < 20; trial++ {
		nodes := randomModel(r, 12, 10)
		e, err := New(Model{Nodes: nodes})
		if err != nil {
			t.Fatal(err)
		}
		for root := len(nodes) - 1; root >= 0; root-- {
			f := e.family(root)
			got := e.z.reachableInto(f, []int32{-7})
			want := slowReachable(e.z, f)
			if got[0] != -7 || !slices.Equal(got[1:], want) {
				t.Fatalf("trial %d root %d: reachable %v, want %v", trial, root, got[1:], want)
			}
			for i, w := range e.z.seen {
				if w != 0 {
					t.Fatalf("trial %d root %d: seen word %d left %x", trial, root, i, w)
				}
			}
		}
	}
}

func slowReachable(z *zbdd, f int32) []int32 {
	seen := map[int32]bool{}
	var walk func(int32)
	walk = func(id int32) {
		if id <= one || seen[id] {
			return
		}
		seen[id] = true
		walk(z.nodes[id].lo)
		walk(z.nodes[id].hi)
	}
	walk(f)
	var out []int32
	for id := range seen {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}
