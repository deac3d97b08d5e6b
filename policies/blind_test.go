package policies

import (
	"bytes"
	"context"
	"os"
	"path/filepath"

	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/threatcov/threatcov/probes"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestNamespaceBlind: a policy shares its evaluations between namespaces only when nothing in
// its modules can read the namespace a probe was placed in.
func TestNamespaceBlind(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		blind     bool
	}{
		{"spec only", `deny contains "x" if input.spec.hostPID`, true},
		{"alias of the object, fields below metadata", `r := input.review.object
deny contains r.metadata.name if r.spec.hostPID`, true},
		{"labels", `deny contains "x" if input.metadata.labels.team == "a"`, true},
		{"host namespaces, by name", `host_namespaces := ["hostPID", "hostIPC"]
deny contains "x" if input.spec[host_namespaces[_]]`, true},
		{"a path to the namespace", `deny contains "x" if object.get(input, split("metadata.namespace", "."), "") == "apps"`, false},
		{"Namespace", `deny contains "x" if input.metadata.Namespace`, false},
		{"reads metadata.namespace", `deny contains "x" if input.metadata.namespace == "apps"`, false},
		{"reads review.namespace", `deny contains "x" if startswith(input.review.namespace, "kube")`, false},
		{"key in a string", `deny contains "x" if object.get(input.metadata, "namespace", "") == "apps"`, false},
		{"key built from a constant", `k := "namespace"
deny contains "x" if input.metadata[k] == "apps"`, false},
		{"iterates metadata", `deny contains v if { some v in input.metadata; v == "apps" }`, false},
		{"iterates metadata by key", `deny contains v if { v := input.review.object.metadata[_]; v == "apps" }`, false},
		{"iterates the review", `deny contains v if { v := input.review[_]; v == "apps" }`, false},
		{"iterates input", `deny contains v if { v := input[_]; v.name == "apps" }`, false},
		{"whole metadata", `m := input.metadata
deny contains "x" if m.name`, false},
		{"walks input", `deny contains "x" if walk(input, [_, "apps"])`, false},
		{"serialises input", `deny contains json.marshal(input) if true`, false},
		{"object.keys", `deny contains "x" if count(object.keys(input.spec)) > 9`, false},
		{"inventory", `deny contains "x" if data.inventory.cluster.v1.Node`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ast.ParseModuleWithOpts("p.rego", "package p\n"+tc.src, ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				t.Fatal(err)
			}
			if got := namespaceBlind(map[string]*ast.Module{"p.rego": m}); got != tc.blind {
				t.Errorf("namespaceBlind = %v, want %v", got, tc.blind)
			}
		})
	}
}

// TestSharedEvaluationsUnchanged: sharing the results of namespace-blind policies between
// namespaces changes no evaluation. An evaluator that captures print() output shares nothing,
// so it is the reference. The example gets a LimitRange in one namespace and a policy that
// reads the namespace, and a fifth, unlabelled namespace is tried too.
func TestSharedEvaluationsUnchanged(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../examples/platform")); err != nil {
		t.Fatal(err)
	}
	lr := `apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: payments}
spec:
  limits:
    - type: Container
      default: {cpu: 500m, memory: 256Mi}
      defaultRequest: {cpu: 100m, memory: 64Mi}
`
	if err := os.WriteFile(filepath.Join(dir, "limitrange.yaml"), []byte(lr), 0o644); err != nil {
		t.Fatal(err)
	}
	// A policy that reads the namespace, through the library's alias of the object: its
	// verdicts differ between namespaces and must stay so.
	nsAware := `package deny_payments_pods

import data.lib.core

deny contains "no pods in payments" if {
	core.kind == "Pod"
	core.resource.metadata.namespace == "payments"
}
`
	if err := os.MkdirAll(filepath.Join(dir, "rego", "deny_payments_pods"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rego", "deny_payments_pods", "src.rego"), []byte(nsAware), 0o644); err != nil {
		t.Fatal(err)
	}
	inv, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.limitRanges("payments")) == 0 {
		t.Fatal("the LimitRange was not loaded")
	}
	ps, err := probes.Default()
	if err != nil {
		t.Fatal(err)
	}
	shared, err := NewEvaluator(inv)
	if err != nil {
		t.Fatal(err)
	}
	alone, err := NewEvaluator(inv, WithPrintOutput(&bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	var jobs []Job
	for _, p := range inv.Policies {
		for _, probe := range ps {
			for _, ns := range []string{"apps", "default", "kube-system", "payments", "fresh"} {
				jobs = append(jobs, Job{Policy: p, Probe: probe, Namespace: ns})
				if probe.Twin != nil {
					jobs = append(jobs, Job{Policy: p, Probe: *probe.Twin, Namespace: ns})
				}
			}
		}
	}
	ctx := context.Background()
	want, got := alone.EvaluateAll(ctx, jobs), shared.EvaluateAll(ctx, jobs)
	denied := map[string]bool{}
	for i, ev := range want {
		if jobs[i].Policy.ID == "rego:deny_payments_pods" && ev.Verdict == VerdictDenied {
			denied[ev.Namespace] = true
		}
	}
	if !denied["payments"] || len(denied) != 1 {
		t.Fatalf("the namespace-aware policy denied in %v, want payments only", denied)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shared evaluations differ (-alone +shared):\n%s", diff)
	}
}
