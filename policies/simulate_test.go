package policies

import "testing"

// TestChangedCopies: a changed copy has the change and the original does not, so a
// re-analysis never leaks into the analysis it was made from.
func TestChangedCopies(t *testing.T) {
	inv, err := Load("../examples/platform")
	if err != nil {
		t.Fatal(err)
	}
	const dry = "gatekeeper:RbacDenyPrivilegedBindings/rbacdenyprivilegedbindings"
	if p := inv.Policy(dry); p == nil || p.Mode != ModeMonitor {
		t.Fatalf("%s: want a monitoring policy in the example, got %+v", dry, p)
	}
	switched := inv.WithMode(dry, ModeEnforce)
	if got := switched.Policy(dry).Mode; got != ModeEnforce {
		t.Errorf("WithMode: %s is %s, want enforce", dry, got)
	}
	if got := inv.Policy(dry).Mode; got != ModeMonitor {
		t.Errorf("WithMode changed the original: %s is %s", dry, got)
	}
	if inv.WithMode("no-such-policy", ModeEnforce) != nil {
		t.Error("WithMode of an unknown policy: want nil")
	}

	labelled := inv.WithNamespaceLabels("apps", map[string]string{PSAEnforceLabel: "restricted"})
	p := labelled.Policy("psa:apps/enforce")
	if p == nil || p.Mode != ModeEnforce || len(labelled.Resolve("psa:baseline")) == 0 {
		t.Fatalf("WithNamespaceLabels: psa:apps/enforce = %+v, want an enforcing restricted policy that also answers psa:baseline", p)
	}
	if inv.Policy("psa:apps/enforce") != nil {
		t.Error("WithNamespaceLabels changed the original")
	}
	for _, ns := range labelled.Namespaces {
		if ns.Name == "apps" && ns.Labels["kubernetes.io/metadata.name"] != "apps" {
			t.Errorf("apps lost its own labels: %v", ns.Labels)
		}
	}
	added := inv.WithNamespaceLabels("tenant-x", map[string]string{PSAEnforceLabel: "baseline"})
	if added.Policy("psa:tenant-x/enforce") == nil {
		t.Error("WithNamespaceLabels of an undeclared namespace: want it added with its Pod Security policy")
	}
}
