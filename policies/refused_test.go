package policies

import (
	"strings"
	"testing"
)

// TestTemplateGatekeeperRefuses: a template whose Rego imports something Gatekeeper's rewriter
// does not allow never reaches the cluster, so its constraint enforces nothing here either,
// and the note says which import and what to do.
func TestTemplateGatekeeperRefuses(t *testing.T) {
	inv, err := Load("testdata/refused")
	if err != nil {
		t.Fatal(err)
	}
	p := inv.Policy("gatekeeper:K8sRefusedHostPID/refused")
	if p == nil {
		t.Fatalf("constraint not in the inventory: %+v", inv.Policies)
	}
	if p.Mode != ModeNone || p.Verifiable {
		t.Errorf("mode %s, verifiable %v; want none, not executed", p.Mode, p.Verifiable)
	}
	want := `Gatekeeper refuses ConstraintTemplate K8sRefusedHostPID (testdata/refused/template.yaml:20): bad import "rego.v1"`
	if len(p.Notes) == 0 || !strings.HasPrefix(p.Notes[0], want) {
		t.Errorf("notes = %q, want one starting %q", p.Notes, want)
	}
	for _, ok := range []string{"data.lib", "data.lib.core", "future.keywords", "future.keywords.in", "data.inventory"} {
		if !gatekeeperImport(ok) {
			t.Errorf("gatekeeperImport(%q) = false, want true", ok)
		}
	}
	for _, bad := range []string{"rego.v1", "data.library", "data.other", "input"} {
		if gatekeeperImport(bad) {
			t.Errorf("gatekeeperImport(%q) = true, want false", bad)
		}
	}
}

// TestTemplateWithCELIsNotRefusedForItsRego: Gatekeeper gives a template with
// K8sNativeValidation code to its CEL driver, so the Rego beside it is never rewritten and a
// bad import there refuses nothing.
func TestTemplateWithCELIsNotRefusedForItsRego(t *testing.T) {
	tmpl := map[string]any{
		"apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
		"metadata": map[string]any{"name": "k8sboth"},
		"spec": map[string]any{
			"crd": map[string]any{"spec": map[string]any{"names": map[string]any{"kind": "K8sBoth"}}},
			"targets": []any{map[string]any{"target": "admission.k8s.gatekeeper.sh", "code": []any{
				map[string]any{"engine": "K8sNativeValidation", "source": map[string]any{"validations": []any{
					map[string]any{"expression": "!has(variables.anyObject.spec.hostPID) || !variables.anyObject.spec.hostPID"}}}},
				map[string]any{"engine": "Rego", "source": map[string]any{"rego": "package k8sboth\nimport rego.v1\nviolation contains {\"msg\": \"x\"} if input.review.object.spec.hostPID\n"}},
			}}},
		},
	}
	constraint := map[string]any{"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sBoth", "metadata": map[string]any{"name": "c"}}
	inv, err := FromObjects([]Object{{Object: tmpl, Source: Location{File: "t.yaml"}}, {Object: constraint, Source: Location{File: "c.yaml"}}})
	if err != nil {
		t.Fatal(err)
	}
	p := inv.Policy("gatekeeper:K8sBoth/c")
	if p == nil || p.Mode != ModeEnforce || !p.Verifiable || p.exec.cel == nil {
		t.Fatalf("policy %+v: want enforcing and executed as CEL", p)
	}
}
