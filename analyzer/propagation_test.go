package analyzer_test

import (
	"context"
	"testing"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/pipeline"
)

// TestPropagationAgreesWithPaths runs the whole catalog against the example policy set and
// checks the two independent computations of a goal's status: propagation over the graph and
// the path engine's open-path count (a monotone function is false exactly when every minimal
// cut set holds a false element).
func TestPropagationAgreesWithPaths(t *testing.T) {
	res, _, err := pipeline.Run(context.Background(), pipeline.Config{Policies: []string{"../examples/platform"}, Strict: true, Date: "2026-11-28"})
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]analyzer.NodeResult{}
	for _, n := range res.Nodes {
		nodes[n.ID] = n
	}
	blockedGoals := 0
	for _, tr := range res.Trees {
		for _, g := range tr.Goals {
			if got := nodes[g.ID].Status; got != g.Status {
				t.Errorf("goal %s: propagation says %s, paths say %s (%v open)", g.ID, got, g.Status, g.Figures.Paths.Open)
			}
			if g.Status == analyzer.StatusBlocked {
				blockedGoals++
				if n := nodes[g.ID].OpenPaths; n.Sign() != 0 {
					t.Errorf("blocked goal %s has %v open paths through it", g.ID, n)
				}
			}
		}
	}
	// The example set is meant to leave a realistic mix: some goals blocked, most open.
	if blockedGoals == 0 || blockedGoals == len(res.Nodes) {
		t.Errorf("blocked goals = %d: the example set should block some goals and leave others open", blockedGoals)
	}
	counts := res.Summary.StepCounts
	for _, st := range []analyzer.Status{analyzer.StatusBlocked, analyzer.StatusMonitored, analyzer.StatusBypassed, analyzer.StatusOpen, analyzer.StatusOutOfScope} {
		if counts[st] == 0 {
			t.Errorf("no step is %s on the example set; its story (examples/README.md) needs every status: %v", st, counts)
		}
	}
}
