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
