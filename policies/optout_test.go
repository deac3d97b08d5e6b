package policies

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOptOuts: the labels and annotations an attacker can set to opt out are read from
// constraint selectors, Kyverno exclusions and Rego, including keys named by a constant rule.
func TestOptOuts(t *testing.T) {
	tmpl := func(kind, rego string) Object {
		return Object{Source: Location{File: kind + ".yaml"}, Object: map[string]any{
			"apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
			"metadata": map[string]any{"name": strings.ToLower(kind)},
			"spec": map[string]any{"crd": map[string]any{"spec": map[string]any{"names": map[string]any{"kind": kind}}},
				"targets": []any{map[string]any{"target": "admission.k8s.gatekeeper.sh", "rego": rego}}}}}
	}
	constraint := func(kind string, match map[string]any) Object {
		return Object{Source: Location{File: kind + "-c.yaml"}, Object: map[string]any{
			"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": kind, "metadata": map[string]any{"name": "c"},
			"spec": map[string]any{"match": match}}}
	}
	inv, err := FromObjects([]Object{
		tmpl("K8sA", "package a\nviolation[{\"msg\": \"x\"}] { not input.review.object.metadata.labels[\"team.example/exempt\"]; input.review.object.spec.hostPID }\n"),
		constraint("K8sA", map[string]any{"labelSelector": map[string]any{"matchExpressions": []any{
			map[string]any{"key": "policy.example/skip", "operator": "DoesNotExist"},
			map[string]any{"key": "tier", "operator": "NotIn", "values": []any{"legacy"}},
		}}}),
		tmpl("K8sB", "package b\nkey := \"sec.example/approved\"\nviolation[{\"msg\": \"x\"}] { object.get(input.review.object.metadata.annotations, key, \"\") != \"true\"; input.review.object.spec.hostIPC }\n"),
		constraint("K8sB", nil),
		{Source: Location{File: "k.yaml"}, Object: map[string]any{"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": map[string]any{"name": "k"},
			"spec": map[string]any{"rules": []any{map[string]any{"name": "r", "validate": map[string]any{"pattern": map[string]any{}},
				"exclude": map[string]any{"any": []any{map[string]any{"resources": map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"break-glass": "yes"}}}}}}}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []OptOut{
		{Key: "break-glass", Value: "yes"},
		{Key: "policy.example/skip", Value: "true"},
		{Key: "team.example/exempt", Value: "true"},
		{Key: "tier", Value: "legacy"},
		{Key: "sec.example/approved", Value: "true", Annotation: true},
	}
	if d := cmp.Diff(want, inv.OptOuts()); d != "" {
		t.Errorf("opt-outs (-want +got):\n%s", d)
	}
}
