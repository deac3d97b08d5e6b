package analyzer

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// TestBypassCauses drives the grouping without OPA: each admitted request gets the first cause
// that holds, and a policy is listed only for the requests it lets through while recognising
// the attack elsewhere.
func TestBypassCauses(t *testing.T) {
	ps := []probes.Probe{
		{Name: "fam/pod", Family: "fam", Variant: probes.VariantPod, Description: "Fam."},
		{Name: "fam/initcontainer", Family: "fam", Variant: probes.VariantInitContainer, Description: "Fam."},
		{Name: "fam/alt", Family: "fam", Variant: "alt", Description: "Fam. This one spells it otherwise."},
		{Name: "fam/pod" + probes.OptOutSuffix, Family: "fam", Variant: probes.VariantPod + probes.OptOutSuffix},
		{Name: "other/pod", Family: "other", Variant: probes.VariantPod},
	}
	inv, err := policies.FromObjects(nil)
	if err != nil {
		t.Fatal(err)
	}
	k := func(p, ns string) probeKey { return probeKey{p, ns} }
	var keys []probeKey
	for _, ns := range []string{"apps", "kube-system"} {
		for _, p := range ps {
			keys = append(keys, k(p.Name, ns))
		}
	}
	gate := policyFacts{id: "gatekeeper:Gate/gate", mode: policies.ModeEnforce, mapped: true,
		proof: map[probeKey]bool{k("fam/pod", "apps"): true}}
	other := policyFacts{id: "gatekeeper:Other/other", mode: policies.ModeEnforce, mapped: true, proof: map[probeKey]bool{}}
	step := &stepEval{node: &attacktrees.Node{ID: "s1"}, result: StepResult{Status: StatusBypassed},
		facts: stepFacts{keys: keys, policies: []policyFacts{gate, other}}}
	blocked := &stepEval{node: &attacktrees.Node{ID: "s2"}, result: StepResult{Status: StatusBlocked},
		facts: stepFacts{keys: keys, policies: []policyFacts{gate}}}

	got := bypassCauses(&Input{Probes: ps, Inventory: inv}, []*stepEval{step, blocked})
	type row struct {
		Kind            CauseKind
		Value           string
		Requests        int
		Policies, Steps []string
	}
	var rows []row
	for _, c := range got {
		rows = append(rows, row{c.Kind, c.Value, c.Requests, c.Policies, c.Steps})
	}
	want := []row{
		{CauseEvasion, "fam/alt", 1, []string{"gatekeeper:Gate/gate"}, []string{"s1"}},
		{CauseNamespace, "kube-system", 4, []string{"gatekeeper:Gate/gate"}, []string{"s1"}},
		{CauseNoDenial, "other", 2, []string{"gatekeeper:Gate/gate", "gatekeeper:Other/other"}, []string{"s1"}},
		{CauseOptOut, "", 1, []string{"gatekeeper:Gate/gate"}, []string{"s1"}},
		{CauseVariant, probes.VariantInitContainer, 1, []string{"gatekeeper:Gate/gate"}, []string{"s1"}},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("causes (-want +got):\n%s", diff)
	}
	for _, c := range got {
		if c.Kind == CauseEvasion && c.Text != "another form of the attack gets through (fam/alt): This one spells it otherwise" {
			t.Errorf("evasion text %q: want the alternative's own description", c.Text)
		}
	}
}
