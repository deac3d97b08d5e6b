package policies

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/threatcov/threatcov/probes"
)

func TestLoadErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name, path string
		want       []string
	}{
		{"broken YAML", "testdata/broken/yaml", []string{"testdata/broken/yaml/bad.yaml:9:", "did not find expected", "fix the YAML syntax"}},
		{"broken Rego keeps OPA's location", "testdata/broken/rego", []string{"testdata/broken/rego/bad.rego:5: rego_parse_error:", "tried Rego v1 and v0"}},
		{"broken template Rego gets the YAML line", "testdata/broken/template", []string{"ConstraintTemplate K8sBroken", "testdata/broken/template/bad-template.yaml:17: rego_parse_error"}},
		{"bad CEL names policy, field and line", "testdata/broken/cel", []string{
			"testdata/broken/cel/bad-vap.yaml:19: ValidatingAdmissionPolicy broken-vap: spec.validations[1].expression: compilation failed",
			"testdata/broken/cel/bad-template.yaml:17: ConstraintTemplate K8sBrokenCEL: spec.targets[0].code[0].source.validations[0].expression: compilation failed",
			"undeclared reference to 'noSuchFunction'", "fix the CEL expression"}},
		{"missing path", "testdata/does-not-exist", []string{"testdata/does-not-exist", "check the --policies path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !errors.Is(err, ErrInput) {
				t.Errorf("error %v does not wrap ErrInput", err)
			}
			for _, s := range tt.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestParseRegoVersions(t *testing.T) {
	tests := []struct {
		name, src string
		wantErr   string
	}{
		{"v1", "package a\n\ndeny contains 1 if input.x\n", ""},
		{"v0", "package a\n\ndeny[1] { input.x }\n", ""},
		{"v0 with rego.v1 import", "package a\n\nimport rego.v1\n\ndeny contains 1 if input.x\n", ""},
		{"v0 error reported as v0", "package a\n\ndeny[1] { input.x = }\n", "f.rego:3: rego_parse_error"},
		{"v1 error reported as v1", "package a\n\ndeny contains 1 if {\n\tinput.x ==\n}\n", "f.rego:5: rego_parse_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRego("f.rego", tt.src, 0)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestInventoryFacts(t *testing.T) {
	inv := loadFixtures(t)
	type fact struct {
		ID         string
		Engine     Engine
		Point      probes.Point
		Mode       Mode
		Verifiable bool
	}
	resolve := func(ref string) []fact {
		var out []fact
		for _, p := range inv.Resolve(ref) {
			out = append(out, fact{p.ID, p.Engine, p.Point, p.Mode, p.Verifiable})
		}
		return out
	}
	tests := []struct {
		ref  string
		want []fact
	}{
		// The raw konstraint file is a pipeline policy, its generated template+constraint admission.
		{"konstraint:P1002", []fact{
			{"gatekeeper:K8sHostNamespace/host-namespace", EngineGatekeeper, probes.PointAdmission, ModeEnforce, true},
			{"rego:kubernetes.host_namespace", EngineRego, probes.PointPipeline, ModeEnforce, true},
		}},
		{"konstraint:P1001", []fact{{"rego:kubernetes.privileged", EngineRego, probes.PointPipeline, ModeEnforce, true}}},
		{"gatekeeper:K8sAllowedRepos", []fact{{"gatekeeper:K8sAllowedRepos/allowed-repos", EngineGatekeeper, probes.PointAdmission, ModeMonitor, true}}},
		{"gatekeeper:K8sPrivilegedContainer", []fact{{"gatekeeper:K8sPrivilegedContainer/privileged-payments", EngineGatekeeper, probes.PointAdmission, ModeEnforce, true}}},
		{"gatekeeper:K8sRequiredProbes", []fact{{"gatekeeper:K8sRequiredProbes/required-probes", EngineGatekeeper, probes.PointAdmission, ModeMonitor, true}}},
		{"gatekeeper:K8sBlockNodePort", []fact{{"gatekeeper:K8sBlockNodePort", EngineGatekeeper, probes.PointAdmission, ModeNone, false}}},
		{"rego:conftest.latest_tag", []fact{{"rego:conftest.latest_tag", EngineRego, probes.PointPipeline, ModeMonitor, true}}},
		// Restricted namespaces answer psa:baseline too; warn labels monitor.
		{"psa:baseline", []fact{
			{"psa:legacy/enforce", EnginePSA, probes.PointAdmission, ModeEnforce, true},
			{"psa:legacy/warn", EnginePSA, probes.PointAdmission, ModeMonitor, true},
			{"psa:payments/enforce", EnginePSA, probes.PointAdmission, ModeEnforce, true},
		}},
		{"psa:privileged", []fact{{"psa:sandbox/enforce", EnginePSA, probes.PointAdmission, ModeEnforce, true}}},
		// Kyverno: the rule's failureAction wins, in any case; disagreeing rules split.
		{"kyverno:disallow-host-namespaces", []fact{{"kyverno:disallow-host-namespaces", EngineKyverno, probes.PointAdmission, ModeEnforce, false}}},
		{"kyverno:restrict-image-registries", []fact{
			{"kyverno:restrict-image-registries/validate-init-registries", EngineKyverno, probes.PointAdmission, ModeMonitor, false},
			{"kyverno:restrict-image-registries/validate-registries", EngineKyverno, probes.PointAdmission, ModeEnforce, false},
		}},
		{"kyverno:require-labels", []fact{{"kyverno:payments/require-labels", EngineKyverno, probes.PointAdmission, ModeMonitor, false}}},
		{"kyverno:add-default-labels", nil},
		// VAP: Deny in validationActions enforces; no binding enforces nothing.
		{"vap:deny-privileged", []fact{{"vap:deny-privileged/deny-privileged-all", EngineVAP, probes.PointAdmission, ModeEnforce, true}}},
		{"vap:unbound-policy", []fact{{"vap:unbound-policy", EngineVAP, probes.PointAdmission, ModeNone, false}}},
		{"rego:lib.core", nil},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, resolve(tt.ref)); diff != "" {
				t.Errorf("Resolve(%q) (-want +got):\n%s", tt.ref, diff)
			}
		})
	}
}

func TestLoadIsDeterministic(t *testing.T) {
	a, b := loadFixtures(t), loadFixtures(t)
	if diff := cmp.Diff(ids(a), ids(b)); diff != "" {
		t.Fatal(diff)
	}
	// Loading the same tree through files and folders in another order gives the same set.
	c, err := Load("testdata/inventory/rego", "testdata/inventory/cluster", "testdata/inventory/gatekeeper", "testdata/inventory/rego/privileged.rego")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids(a), ids(c)); diff != "" {
		t.Errorf("(-one folder +several paths):\n%s", diff)
	}
}

// FromObjects is what the cluster reader uses: objects without file lines still build the
// same policies, and still evaluate.
func TestFromObjects(t *testing.T) {
	objs := []Object{
		{Source: Location{File: "cluster:namespaces/legacy"}, Object: map[string]any{
			"apiVersion": "v1", "kind": "Namespace",
			"metadata": map[string]any{"name": "legacy", "labels": map[string]any{
				"pod-security.kubernetes.io/enforce": "baseline", "team": "legacy"}},
		}},
		{Source: Location{File: "cluster:constrainttemplates/k8shostpid"}, Object: map[string]any{
			"apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
			"metadata": map[string]any{"name": "k8shostpid"},
			"spec": map[string]any{
				"crd": map[string]any{"spec": map[string]any{"names": map[string]any{"kind": "K8sHostPID"}}},
				"targets": []any{map[string]any{
					"target": "admission.k8s.gatekeeper.sh",
					"rego":   "package k8shostpid\n\nviolation contains {\"msg\": \"host PID\"} if input.review.object.spec.hostPID\n",
				}},
			},
		}},
		{Source: Location{File: "cluster:k8shostpid/no-host-pid"}, Object: map[string]any{
			"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sHostPID",
			"metadata": map[string]any{"name": "no-host-pid"},
			"spec": map[string]any{"match": map[string]any{
				"namespaceSelector": map[string]any{"matchExpressions": []any{
					map[string]any{"key": "team", "operator": "In", "values": []any{"legacy"}},
				}},
			}},
		}},
		{Source: Location{File: "cluster:configmaps/x"}, Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap"}},
	}
	inv, err := FromObjects(objs)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"gatekeeper:K8sHostPID/no-host-pid", "psa:legacy/enforce"}, ids(inv)); diff != "" {
		t.Fatalf("policies (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]Skip{{File: "cluster:configmaps/x", Reason: "v1 ConfigMap is not a policy"}}, inv.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	ev := newEvaluator(t, inv)
	for _, tt := range []struct {
		policy, ns string
		want       Verdict
	}{
		{"gatekeeper:K8sHostPID/no-host-pid", "legacy", VerdictDenied},
		{"gatekeeper:K8sHostPID/no-host-pid", "other", VerdictNotApplicable},
		{"psa:legacy/enforce", "legacy", VerdictDenied},
	} {
		if got := ev.Evaluate(t.Context(), inv.Policy(tt.policy), hostPIDDeployment, tt.ns); got.Verdict != tt.want {
			t.Errorf("%s in %s: %s (%s), want %s", tt.policy, tt.ns, got.Verdict, got.Err, tt.want)
		}
	}
}
