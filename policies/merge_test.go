package policies

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMerge(t *testing.T) {
	ns := func(source, name, level string) Object {
		labels := map[string]any{}
		if level != "" {
			labels["pod-security.kubernetes.io/enforce"] = level
		}
		return Object{Source: Location{File: source}, Object: map[string]any{
			"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name, "labels": labels}}}
	}
	build := func(objs ...Object) *Inventory {
		inv, err := FromObjects(objs)
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	files := build(ns("ns.yaml", "team-a", "restricted"), ns("ns.yaml", "shared", "restricted"))
	// The cluster's shared namespace lost its label: the file's PSA policy for it goes too.
	live := build(ns("cluster:prod/core/Namespace/team-b", "team-b", "baseline"), ns("cluster:prod/core/Namespace/shared", "shared", ""))
	merged, err := Merge(files, live)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range merged.Policies {
		got = append(got, p.ID+" "+p.Source.File)
	}
	for _, n := range merged.Namespaces {
		got = append(got, "namespace "+n.Name+" "+n.Source.File)
	}
	want := []string{
		"psa:team-a/enforce ns.yaml",
		"psa:team-b/enforce cluster:prod/core/Namespace/team-b",
		"namespace shared cluster:prod/core/Namespace/shared",
		"namespace team-a ns.yaml",
		"namespace team-b cluster:prod/core/Namespace/team-b",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged (-want +got):\n%s", diff)
	}
	if len(merged.Resolve("psa:team-b")) != 1 || len(merged.Resolve("psa:team-a")) != 1 {
		t.Error("the merged inventory does not resolve references")
	}

	kyverno := func(source string) Object {
		return Object{Source: Location{File: source}, Object: map[string]any{
			"apiVersion": "kyverno.io/v1", "kind": "ClusterPolicy", "metadata": map[string]any{"name": "p"},
			"spec": map[string]any{"validationFailureAction": "Enforce", "rules": []any{map[string]any{
				"name": "r", "match": map[string]any{"any": []any{map[string]any{"resources": map[string]any{"kinds": []any{"Pod"}}}}},
				"validate": map[string]any{"pattern": map[string]any{"spec": map[string]any{"=(hostPID)": "false"}}},
			}}}}}
	}
	_, err = Merge(build(kyverno("p.yaml")), build(kyverno("cluster:prod/kyverno.io/ClusterPolicy/p")))
	if err == nil || !strings.Contains(err.Error(), "policy kyverno:p is both in p.yaml (--policies) and in the cluster (cluster:prod/kyverno.io/ClusterPolicy/p)") {
		t.Errorf("duplicate policy: %v", err)
	}
}
