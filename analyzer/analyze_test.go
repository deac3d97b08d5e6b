package analyzer

import (
	"context"
	"encoding/json"
	"math/big"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// analyzeFixture runs a real analysis (real OPA evaluation) of a folder holding tree.yaml,
// mapping.yaml and policies/.
func analyzeFixture(t *testing.T, dir string, mutate func(*Input)) *Result {
	t.Helper()
	trees, err := attacktrees.ReadPaths(dir + "/tree.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := attacktrees.Build(trees)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := probes.Default()
	if err != nil {
		t.Fatal(err)
	}
	mf, err := mapping.ReadFile(dir + "/mapping.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mp, err := mapping.Resolve(cat, probes.Families(ps), true, mf)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := policies.Load(dir + "/policies")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := policies.NewEvaluator(inv)
	if err != nil {
		t.Fatal(err)
	}
	in := Input{Catalog: cat, Mapping: mp, Probes: ps, Inventory: inv, Evaluator: ev,
		Now: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)}
	if mutate != nil {
		mutate(&in)
	}
	res, err := Analyze(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func stepStatus(r *Result) map[string]string {
	out := map[string]string{}
	for _, s := range r.Steps {
		st := string(s.Status)
		if s.Evidence != "" {
			st += "/" + string(s.Evidence)
		}
		out[s.Node] = st
	}
	return out
}

func TestAnalyzeBasic(t *testing.T) {
	res := analyzeFixture(t, "testdata/basic", nil)

	// hostPID: a Pod-only constraint denies the bare Pod and, through expansion, the
	// Deployment and CronJob. privileged: the konstraint Rego file is a pipeline policy and the
	// step crosses admission only, so it does not count. exploit: out of scope.
	want := map[string]string{
		"hostpid":    "blocked/verified",
		"privileged": "open",
		"exploit":    "out-of-scope",
	}
	if diff := cmp.Diff(want, stepStatus(res)); diff != "" {
		t.Errorf("step statuses (-want +got):\n%s", diff)
	}
	// Paths of the goal: {hostpid} and {exploit, privileged}; the first is blocked.
	g := res.Trees[0].Goals[0]
	if got := g.Figures.Paths.Coverage; got.Num.Cmp(big.NewInt(1)) != 0 || got.Den.Cmp(big.NewInt(2)) != 0 || *got.Percent != 50 {
		t.Errorf("path coverage = %v/%v (%v%%), want 1/2 (50%%)", got.Num, got.Den, *got.Percent)
	}
	wantPaths := []Path{{Fingerprint: "exploit+privileged", Steps: []string{"exploit", "privileged"}}}
	if diff := cmp.Diff(wantPaths, g.OpenPaths); diff != "" {
		t.Errorf("open paths (-want +got):\n%s", diff)
	}
	if g.Status != StatusOpen {
		t.Errorf("goal status = %s, want open", g.Status)
	}
	// Steps: hostpid blocked of {hostpid, privileged}; exploit is out of scope.
	if s := res.Summary.Steps; s.Num.Int64() != 1 || s.Den.Int64() != 2 {
		t.Errorf("step coverage = %v/%v, want 1/2", s.Num, s.Den)
	}
	// The recommendation names the missing admission policy for the privileged step.
	wantRecs := []Recommendation{{Rank: 1, Action: "deploy", Policy: "konstraint:T1001", Change: "deploy konstraint:T1001 (named by testdata/basic/mapping.yaml:6)", Established: EstablishedEstimated, Steps: []string{"privileged"}, Closes: big.NewInt(1), Exact: true}}
	if diff := cmp.Diff(wantRecs, res.Recommendations, cmp.Comparer(func(a, b *big.Int) bool { return a.Cmp(b) == 0 })); diff != "" {
		t.Errorf("recommendations (-want +got):\n%s", diff)
	}
}

func TestAnalyzeInnerNodeAction(t *testing.T) {
	// Mapping the AND node itself (an attacker action) to the hostPID policy: its own action
	// is blocked by nothing here (its probes are privileged pods), so it stays open; mapping it
	// to host-pid probes blocks it and every path through it.
	res := analyzeFixture(t, "testdata/basic", func(in *Input) {
		extra, err := mapping.Parse([]byte("version: 1\nsteps:\n  - nodes: [escape]\n    policies: [gatekeeper:K8sTestHostPID]\n    probes: [host-pid]\n"), "extra.yaml")
		if err != nil {
			t.Fatal(err)
		}
		base, err := mapping.ReadFile("testdata/basic/mapping.yaml")
		if err != nil {
			t.Fatal(err)
		}
		in.Mapping, err = mapping.Resolve(in.Catalog, probes.Families(in.Probes), true, base, extra)
		if err != nil {
			t.Fatal(err)
		}
	})
	g := res.Trees[0].Goals[0]
	if g.Status != StatusBlocked || g.Figures.Paths.Open.Sign() != 0 {
		t.Errorf("goal = %s with %v open paths, want blocked with 0", g.Status, g.Figures.Paths.Open)
	}
	if g.Figures.Paths.Coverage.Den.Int64() != 2 {
		t.Errorf("all paths = %v, want 2 (the action joins the path, it does not add one)", g.Figures.Paths.Coverage.Den)
	}
}

func TestAnalyzeDeterministicAndEmpty(t *testing.T) {
	a := analyzeFixture(t, "testdata/basic", nil)
	b := analyzeFixture(t, "testdata/basic", nil)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if diff := cmp.Diff(string(ja), string(jb)); diff != "" {
		t.Errorf("two runs differ:\n%s", diff)
	}
	// An empty denominator is reported as such (nil percent), never NaN.
	r := ratio(big.NewInt(0), big.NewInt(0))
	if r.Percent != nil {
		t.Errorf("0/0 percent = %v, want nil", *r.Percent)
	}
}
