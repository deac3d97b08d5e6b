package remedies

import (
	"math/bits"
	"testing"
)

// TestPlanExactAndGreedy drives the search over small problems: the exact plan is the
// smallest set closing as many paths as every candidate together, and the greedy plan closes
// as many with no fewer remedies.
func TestPlanExactAndGreedy(t *testing.T) {
	const a, b, c, d = 1, 2, 4, 8
	for _, tc := range []struct {
		name      string
		needs     [][]uint64 // per step: the masks of its requests
		paths     [][]int    // per path: the steps it goes through
		wantSet   uint64
		wantPaths int
	}{
		{"one remedy per step", [][]uint64{{a}, {b}, {c}}, [][]int{{0}, {1}, {2}, {0, 1}}, a | b | c, 4},
		{"two of three suffice, lowest first", [][]uint64{{a | b}, {b | c}, {c}}, [][]int{{0}, {1}, {2}}, a | c, 3},
		{"a shared remedy beats two", [][]uint64{{a | b}, {b | c}, {b | d}}, [][]int{{0}, {1}, {2}}, b, 3},
		{"a step needing two", [][]uint64{{a, b}, {c}}, [][]int{{0}, {1}, {0, 1}}, a | b | c, 3},
		{"a path closed twice needs one", [][]uint64{{a}, {b}}, [][]int{{0, 1}}, a, 1},
		{"a remedy that closes nothing is left out", [][]uint64{{a}, {b, d}}, [][]int{{0}}, a, 1},
		{"nothing closable", [][]uint64{{a}}, [][]int{{}}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := planInput{paths: tc.paths}
			for i := 0; i < 4; i++ {
				in.candidates = append(in.candidates, &Remedy{Name: string(rune('a' + i))})
			}
			for i, m := range tc.needs {
				in.needs = append(in.needs, stepNeed{node: string(rune('p' + i)), masks: m})
			}
			set, exact := in.plan(ExactLimit)
			if !exact || set != tc.wantSet {
				t.Errorf("exact plan %04b (exact %v), want %04b", set, exact, tc.wantSet)
			}
			if got := in.pathsClosed(set); got != tc.wantPaths {
				t.Errorf("exact plan closes %d paths, want %d", got, tc.wantPaths)
			}
			greedy, exact := in.plan(0)
			if exact && tc.wantPaths > 0 {
				t.Error("limit 0 searched exhaustively")
			}
			if got := in.pathsClosed(greedy); got != tc.wantPaths {
				t.Errorf("greedy plan %04b closes %d paths, want %d", greedy, got, tc.wantPaths)
			}
			if bits.OnesCount64(greedy) < bits.OnesCount64(set) {
				t.Errorf("greedy plan %04b is smaller than the exact %04b", greedy, set)
			}
			p := in.rank(set)
			if p.Paths != tc.wantPaths || len(p.Choices) != bits.OnesCount64(set) {
				t.Errorf("ranked plan: %d paths, %d choices", p.Paths, len(p.Choices))
			}
		})
	}
}
