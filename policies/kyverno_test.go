package policies

import (
	"context"
	"testing"

	"github.com/threatcov/threatcov/probes"
)

// TestKyvernoStatic: a declared Kyverno policy takes in a request only where its match
// selects it and its exclude does not; a Pod rule takes in the Pod controllers (autogen) but
// not the ephemeralcontainers subresource; an exclusion by a label the attacker sets, or by
// the controllers' service accounts, leaves requests out.
func TestKyvernoStatic(t *testing.T) {
	policy := func(name string, rule map[string]any, annotations map[string]any) Object {
		rule["name"] = "r"
		rule["validate"] = map[string]any{"pattern": map[string]any{"spec": map[string]any{"=(hostPID)": "false"}}}
		return Object{Source: Location{File: name + ".yaml"}, Object: map[string]any{
			"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy",
			"metadata": map[string]any{"name": name, "annotations": annotations},
			"spec":     map[string]any{"validationFailureAction": "Enforce", "rules": []any{rule}}}}
	}
	podRule := func() map[string]any {
		return map[string]any{"match": map[string]any{"any": []any{map[string]any{"resources": map[string]any{"kinds": []any{"Pod"}}}}}}
	}
	excludeNS := podRule()
	excludeNS["exclude"] = map[string]any{"any": []any{map[string]any{"resources": map[string]any{"namespaces": []any{"kube-system"}}}}}
	excludeLabel := podRule()
	excludeLabel["exclude"] = map[string]any{"any": []any{map[string]any{"resources": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"break-glass": "true"}}}}}}
	excludeSA := podRule()
	excludeSA["exclude"] = map[string]any{"any": []any{map[string]any{"subjects": []any{map[string]any{"kind": "ServiceAccount", "namespace": "kube-system", "name": "*"}}}}}
	inv, err := FromObjects([]Object{
		policy("plain", podRule(), nil),
		policy("exclude-ns", excludeNS, nil),
		policy("exclude-label", excludeLabel, nil),
		policy("exclude-sa", excludeSA, map[string]any{"pod-policies.kyverno.io/autogen-controllers": "none"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	byName := defaultProbesByName(t)
	optOut := probes.WithOptOuts([]probes.Probe{byName["host-pid/pod"]}, map[string]string{"break-glass": "true"}, nil)[0]
	byName[optOut.Name] = optOut
	ev, err := NewEvaluator(inv)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		policy, probe, ns string
		covered           bool
	}{
		{"kyverno:plain", "host-pid/pod", "apps", true},
		{"kyverno:plain", "host-pid/deployment", "apps", true},
		{"kyverno:plain", "privileged-container/ephemeralcontainer", "apps", false},
		{"kyverno:exclude-ns", "host-pid/pod", "apps", true},
		{"kyverno:exclude-ns", "host-pid/pod", "kube-system", false},
		{"kyverno:exclude-label", "host-pid/pod", "apps", true},
		{"kyverno:exclude-label", "host-pid/pod+opt-out", "apps", false},
		{"kyverno:exclude-sa", "host-pid/pod", "apps", true},
		// No autogen, and the controller's Pod comes from an excluded service account.
		{"kyverno:exclude-sa", "host-pid/deployment", "apps", false},
	}
	for _, tt := range tests {
		p := inv.Policy(tt.policy)
		if p == nil {
			t.Fatalf("no policy %s", tt.policy)
		}
		got := ev.Evaluate(context.Background(), p, byName[tt.probe], tt.ns)
		if covered := got.Verdict == VerdictError; covered != tt.covered {
			t.Errorf("%s on %s in %s: %s %v %s, want covered=%v", tt.policy, tt.probe, tt.ns, got.Verdict, got.Messages, got.Err, tt.covered)
		}
	}
}
