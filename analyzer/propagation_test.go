package analyzer_test

import (
	"context"
	"math/big"
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

// TestCeilingFigures: on the example, every goal's, tree's and the summary's figures add up:
// the ceiling counts paths out of all paths, coverage of the ceiling counts blocked paths out
// of the ceiling, and the open paths are the open paths within the ceiling plus the residual.
func TestCeilingFigures(t *testing.T) {
	res, _, err := pipeline.Run(context.Background(), pipeline.Config{Policies: []string{"../examples/platform"}, Date: "2026-11-28"})
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, f analyzer.PathFigures) {
		t.Helper()
		if f.Ceiling == nil || f.OfCeiling == nil || f.Residual == nil {
			t.Fatalf("%s: no ceiling figures", name)
		}
		if f.Ceiling.Den.Cmp(f.Coverage.Den) != 0 || f.OfCeiling.Den.Cmp(f.Ceiling.Num) != 0 {
			t.Errorf("%s: ceiling %v of %v, coverage of ceiling %v of %v, all %v", name, f.Ceiling.Num, f.Ceiling.Den, f.OfCeiling.Num, f.OfCeiling.Den, f.Coverage.Den)
		}
		openInCeiling := new(big.Int).Sub(f.OfCeiling.Den, f.OfCeiling.Num)
		if sum := new(big.Int).Add(openInCeiling, f.Residual); sum.Cmp(f.Open) != 0 {
			t.Errorf("%s: open %v != open within the ceiling %v + residual %v", name, f.Open, openInCeiling, f.Residual)
		}
		if f.OfCeiling.Num.Cmp(f.Coverage.Num) > 0 {
			t.Errorf("%s: more blocked paths within the ceiling (%v) than blocked (%v)", name, f.OfCeiling.Num, f.Coverage.Num)
		}
	}
	check("summary", res.Summary.Paths)
	for _, tr := range res.Trees {
		check(tr.ID, tr.Figures.Paths)
		for _, g := range tr.Goals {
			check(g.ID, g.Figures.Paths)
		}
	}
	if res.Summary.Paths.Residual.Sign() == 0 || res.Summary.Paths.Ceiling.Num.Cmp(res.Summary.Paths.Ceiling.Den) == 0 {
		t.Errorf("the example has paths beyond policies (network floods); got residual %v, ceiling %v", res.Summary.Paths.Residual, res.Summary.Paths.Ceiling.Text("paths"))
	}
}
