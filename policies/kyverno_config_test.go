package policies

import (
	"strings"
	"testing"

	"github.com/threatcov/threatcov/probes"
)

// TestKyvernoConfig: without the ConfigMap the chart's defaults skip kube-system and the Pods
// kube-system's controllers create; a ConfigMap in the policy set replaces them.
func TestKyvernoConfig(t *testing.T) {
	controller, _ := probes.Controller("Deployment")
	pod := func(ns string, user probes.UserInfo, sub string) request {
		return request{kind: "Pod", name: "p", namespace: ns, user: user, subResource: sub}
	}
	chart := (&Inventory{}).kyvernoConfigOf()
	for _, tc := range []struct {
		name string
		r    request
		want string // a substring of the reason, or "" for judged
	}{
		{"a tenant's Pod", pod("apps", probes.Attacker, ""), ""},
		{"a Pod in kube-system", pod("kube-system", probes.Attacker, ""), "resourceFilters skip Pod in namespace kube-system"},
		{"an ephemeral container in kube-public", pod("kube-public", probes.Attacker, "ephemeralcontainers"), "resourceFilters skip Pod/ephemeralcontainers"},
		{"a ReplicaSet controller's Pod", pod("apps", controller, ""), "excludeGroups skip requests of group system:serviceaccounts:kube-system"},
		{"a ReplicaSet", request{kind: "ReplicaSet", namespace: "apps", user: probes.Attacker}, "resourceFilters skip ReplicaSet"},
	} {
		got := chart.skips(tc.r)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("chart defaults, %s: %q, want %q", tc.name, got, tc.want)
		}
	}

	inv, err := FromObjects([]Object{{Source: Location{File: "kyverno-config.yaml", Line: 1}, Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "kyverno", "namespace": "kyverno"},
		"data": map[string]any{"resourceFilters": "[Event,*,*][*,legacy-*,*]", "excludeGroups": "", "excludeUsernames": "ci-bot"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	own := inv.kyvernoConfigOf()
	if got := own.skips(pod("kube-system", probes.Attacker, "")); got != "" {
		t.Errorf("own ConfigMap without kube-system: a Pod there is skipped: %s", got)
	}
	if got := own.skips(pod("apps", controller, "")); got != "" {
		t.Errorf("own ConfigMap without excludeGroups: a controller's Pod is skipped: %s", got)
	}
	if got := own.skips(pod("legacy-billing", probes.Attacker, "")); !strings.Contains(got, "kyverno-config.yaml:1") {
		t.Errorf("own ConfigMap, legacy-billing: %q, want skipped, citing the ConfigMap", got)
	}
	if got := own.skips(pod("apps", probes.UserInfo{Username: "ci-bot"}, "")); !strings.Contains(got, "excludeUsernames") {
		t.Errorf("own ConfigMap, ci-bot: %q, want skipped by excludeUsernames", got)
	}
}
