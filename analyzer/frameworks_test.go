package analyzer_test

import (
	"math/big"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/frameworks"
)

// A technique's score counts only steps proven closed: a declared block, a bypass and a
// monitored step are open; out-of-scope steps leave the denominator.
func TestTechniqueCoverage(t *testing.T) {
	step := func(node, tree string, st analyzer.Status, ev analyzer.Evidence, open int64, attack ...string) analyzer.StepResult {
		s := analyzer.StepResult{Node: node, Tree: tree, Status: st, Evidence: ev, OpenPaths: big.NewInt(open), Attack: attack}
		if st == analyzer.StatusBlocked {
			s.Blocking = []string{"policy-of-" + node}
		}
		return s
	}
	r := &analyzer.Result{Steps: []analyzer.StepResult{
		step("a", "t1", analyzer.StatusBlocked, analyzer.EvidenceVerified, 0, "T1611", "T1610"),
		step("b", "t2", analyzer.StatusBlocked, analyzer.EvidenceDeclared, 4, "T1611"),
		step("c", "t1", analyzer.StatusBypassed, "", 7, "T1611"),
		step("d", "t1", analyzer.StatusOutOfScope, "", 9, "T1611", "T1498"),
		step("e", "t2", analyzer.StatusAttested, "", 0, "T1610"),
		step("f", "t2", analyzer.StatusBlocked, analyzer.EvidenceLive, 0, "T1610"),
		step("g", "t2", analyzer.StatusMonitored, "", 2),
	}}
	got := analyzer.Techniques(r, frameworks.Get(frameworks.ATTACK))
	type row struct {
		ID, Pct     string
		Steps, Open []string
		Blocking    []string
		OpenPaths   string
	}
	var rows []row
	for _, tc := range got {
		rows = append(rows, row{tc.ID, tc.Coverage.Text("steps"), tc.Steps, tc.Open, tc.Blocking, tc.OpenPaths.String()})
	}
	want := []row{
		{"T1498", "n/a (no steps)", []string{"d"}, nil, nil, "9"},
		{"T1610", "3/3 (100.00%)", []string{"a", "e", "f"}, nil, []string{"policy-of-a", "policy-of-f"}, "0"},
		{"T1611", "1/3 (33.33%)", []string{"a", "b", "c", "d"}, []string{"b", "c"}, []string{"policy-of-a"}, "9"},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("technique coverage (-want +got):\n%s", diff)
	}
	if got[2].Name != "Escape to Host" || got[2].Tactics[0] != "privilege-escalation" {
		t.Errorf("T1611 named %q, tactics %v", got[2].Name, got[2].Tactics)
	}
	if tm := analyzer.Techniques(r, frameworks.Get(frameworks.ThreatMatrix)); len(tm) != 0 {
		t.Errorf("no step names a Threat Matrix id, got %v", tm)
	}
}
