package analyzer

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// TestDecide drives the pure decision with hand-written facts, no OPA: each row is a case of
// docs/semantics.md "Statuses of a step".
func TestDecide(t *testing.T) {
	pod, dep := probeKey{"host-pid/pod", "apps"}, probeKey{"host-pid/deployment", "apps"}
	kube := probeKey{"host-pid/pod", "kube-system"}
	keys := []probeKey{dep, pod}
	set := func(ks ...probeKey) map[probeKey]bool {
		m := map[probeKey]bool{}
		for _, k := range ks {
			m[k] = true
		}
		return m
	}
	pol := func(id string, mode policies.Mode, mapped bool, proof ...probeKey) policyFacts {
		return policyFacts{id: id, mode: mode, mapped: mapped, proof: set(proof...), overBroad: set(), outOfScope: set(), errors: map[probeKey]string{}}
	}
	overBroad := pol("gatekeeper:AllowedRepos/repos", policies.ModeEnforce, false)
	overBroad.overBroad = set(dep, pod)
	declared := pol("kyverno:disallow-host-pid", policies.ModeEnforce, true)
	declared.declared = true
	narrow := declared
	narrow.outOfScope = set(dep)
	expired := &mapping.Attestation{Control: "falco", Evidence: "e", Expires: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	valid := &mapping.Attestation{Control: "falco", Evidence: "e", Expires: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}

	type want struct {
		Status                                      Status
		Evidence                                    Evidence
		Blocking, Admitted, Discovered, NotBlocking []string
		OverBroad                                   []string
	}
	tests := []struct {
		name        string
		keys        []probeKey
		policies    []policyFacts
		attestation *mapping.Attestation
		want        want
	}{
		{
			name:     "mapped policy denies every probe",
			keys:     keys,
			policies: []policyFacts{pol("rego:P2002", policies.ModeEnforce, true, dep, pod)},
			want:     want{Status: StatusBlocked, Evidence: EvidenceVerified, Blocking: []string{"rego:P2002"}},
		},
		{
			name:     "an unmapped policy's denials count: discovered",
			keys:     keys,
			policies: []policyFacts{pol("rego:TEAM-7", policies.ModeEnforce, false, dep, pod)},
			want:     want{Status: StatusBlocked, Evidence: EvidenceVerified, Blocking: []string{"rego:TEAM-7"}, Discovered: []string{"rego:TEAM-7"}},
		},
		{
			name:     "two policies each deny part: blocked together",
			keys:     keys,
			policies: []policyFacts{pol("a", policies.ModeEnforce, true, dep), pol("b", policies.ModeEnforce, false, pod)},
			want:     want{Status: StatusBlocked, Evidence: EvidenceVerified, Blocking: []string{"a", "b"}, NotBlocking: []string{"a"}},
		},
		{
			name:     "a policy that denies the benign twin too proves nothing",
			keys:     keys,
			policies: []policyFacts{overBroad},
			want:     want{Status: StatusOpen, OverBroad: []string{"gatekeeper:AllowedRepos/repos"}},
		},
		{
			name:     "a namespace the policy misses is a bypass there",
			keys:     []probeKey{dep, pod, kube},
			policies: []policyFacts{pol("gatekeeper:HostNS/c", policies.ModeEnforce, true, dep, pod)},
			want:     want{Status: StatusBypassed, Blocking: []string{"gatekeeper:HostNS/c"}, Admitted: []string{"host-pid/pod@kube-system"}, NotBlocking: []string{"gatekeeper:HostNS/c"}},
		},
		{
			name:     "a mapped enforcing policy that denies nothing: bypassed",
			keys:     keys,
			policies: []policyFacts{pol("rego:P2002", policies.ModeEnforce, true)},
			want:     want{Status: StatusBypassed, Admitted: []string{"host-pid/deployment@apps", "host-pid/pod@apps"}, NotBlocking: []string{"rego:P2002"}},
		},
		{
			name:     "monitoring flags every probe",
			keys:     keys,
			policies: []policyFacts{pol("gatekeeper:HostNS/dry", policies.ModeMonitor, true, dep, pod)},
			want:     want{Status: StatusMonitored, NotBlocking: []string{"gatekeeper:HostNS/dry"}},
		},
		{
			name:     "declared and its match takes in every probe",
			keys:     keys,
			policies: []policyFacts{declared},
			want:     want{Status: StatusBlocked, Evidence: EvidenceDeclared, Blocking: []string{"kyverno:disallow-host-pid"}},
		},
		{
			name:     "declared but its match misses a workload: never blocked by name",
			keys:     keys,
			policies: []policyFacts{narrow},
			want:     want{Status: StatusBypassed, Admitted: []string{"host-pid/deployment@apps", "host-pid/pod@apps"}, NotBlocking: []string{"kyverno:disallow-host-pid"}},
		},
		{
			name:        "attested",
			keys:        keys,
			attestation: valid,
			want:        want{Status: StatusAttested},
		},
		{
			name:        "an expired attestation covers nothing",
			keys:        keys,
			attestation: expired,
			want:        want{Status: StatusOpen},
		},
		{
			name: "no probe request: never blocked",
			want: want{Status: StatusOpen},
		},
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	node := &attacktrees.Node{ID: "mce-host-pid", Tree: "t", Label: "Use host PID"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step := &mapping.Step{Node: node, Points: []probes.Point{probes.PointAdmission}, Policies: []string{"rego:P2002"}, Probes: []string{"host-pid"}, Attestation: tt.attestation}
			f := &stepFacts{keys: tt.keys, policies: tt.policies}
			r := decide(now, []string{"apps"}, node, step, true, f)
			got := want{Status: r.Status, Evidence: r.Evidence, Blocking: r.Blocking, Admitted: r.Admitted,
				Discovered: r.Discovered, NotBlocking: r.MappedNotBlocking, OverBroad: r.OverBroad}
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("decision (-want +got):\n%s\nexplanation: %s", d, r.Explanation)
			}
			if r.Explanation == "" {
				t.Error("no explanation")
			}
		})
	}
}
