package policies

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Changed copies of an inventory, for re-analysing a recommendation with the change applied
// (docs/semantics.md, "Recommendations"). A copy shares the unchanged policies and compiled
// code with the original; neither is modified.

// WithMode returns a copy of inv in which policy id enforces (or monitors), as if its
// enforcementAction, validationFailureAction or validationActions were switched; nil when inv
// has no such policy.
func (inv *Inventory) WithMode(id string, mode Mode) *Inventory {
	old := inv.Policy(id)
	if old == nil {
		return nil
	}
	p := *old
	p.Mode = mode
	p.Action = "switched to " + string(mode) + " (was " + old.Action + ")"
	out := inv.shallowCopy()
	out.Policies[slices.Index(out.Policies, old)] = &p
	out.index()
	return out
}

// WithNamespaceLabels returns a copy of inv in which namespace ns carries labels over its own
// (the namespace is added when inv has none of that name); its Pod Security policies are
// rebuilt from the labels, as the API server reads them.
func (inv *Inventory) WithNamespaceLabels(ns string, labels map[string]string) *Inventory {
	out := inv.shallowCopy()
	merged := map[string]string{}
	src := Location{File: fmt.Sprintf("(simulated: labels on namespace %s)", ns)}
	out.Namespaces = slices.Clone(inv.Namespaces)
	if i := slices.IndexFunc(out.Namespaces, func(n Namespace) bool { return n.Name == ns }); i >= 0 {
		maps.Copy(merged, out.Namespaces[i].Labels)
		src = out.Namespaces[i].Source
		out.Namespaces = slices.Delete(out.Namespaces, i, i+1)
	}
	maps.Copy(merged, labels)
	obj := namespaceObject(ns, merged)
	out.objects = maps.Clone(inv.objects)
	if out.objects == nil {
		out.objects = map[string][]map[string]any{}
	}
	out.objects["Namespace"] = append(slices.DeleteFunc(slices.Clone(inv.objects["Namespace"]), func(o map[string]any) bool {
		return str(o, "metadata", "name") == ns
	}), obj)
	// The namespace's Pod Security policies come from its labels: rebuild them.
	out.Policies = slices.DeleteFunc(slices.Clone(inv.Policies), func(p *Policy) bool {
		return p.Engine == EnginePSA && strings.HasPrefix(p.ID, "psa:"+ns+"/")
	})
	b := newBuilder()
	b.addNamespace(Object{Object: obj, Source: src})
	b.inv.sortAll() // the new policies only: the shared ones are not touched
	out.Namespaces = append(out.Namespaces, b.inv.Namespaces...)
	out.Policies = append(out.Policies, b.inv.Policies...)
	slices.SortFunc(out.Policies, func(a, b *Policy) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(out.Namespaces, func(a, b Namespace) int { return strings.Compare(a.Name, b.Name) })
	out.index()
	return out
}

// ReadsNamespaceLabels reports whether p's verdict on a request may depend on its
// namespace's labels: Pod Security (its level is a label), CEL code (it sees namespaceObject),
// a match with a namespaceSelector, a Kyverno policy when some Kyverno policy or exception may
// read labels, or a Gatekeeper template while the Config syncs objects into data.inventory. Conservative: a re-analysis that changes labels
// re-evaluates these and reuses every other verdict.
func (inv *Inventory) ReadsNamespaceLabels(p *Policy) bool {
	switch {
	case p.Engine == EngineKyverno:
		return inv.kyverno == nil || inv.kyverno.readsNamespaceLabels()
	case p.Engine == EnginePSA || p.Engine == EngineVAP:
		return true
	case p.exec == nil:
		return true
	case p.exec.cel != nil:
		return true
	case p.exec.match != nil && p.exec.match["namespaceSelector"] != nil:
		return true
	case p.exec.gatekeeper && len(inv.synced) > 0:
		return true
	}
	return false
}

// shallowCopy copies inv's top level: slices are cloned, policies shared.
func (inv *Inventory) shallowCopy() *Inventory {
	out := *inv
	out.Policies = slices.Clone(inv.Policies)
	out.refs = nil
	return &out
}

// ForInventory returns an evaluator for a changed copy of the inventory it was made for
// (WithMode, WithNamespaceLabels): it shares the compiled code, settings and sandbox, and reads
// namespaces and synced objects from inv.
func (e *Evaluator) ForInventory(inv *Inventory) (*Evaluator, error) {
	n := &Evaluator{
		inv: inv, timeout: e.timeout, printOut: e.printOut,
		queries: e.queries, blind: e.blind, params: e.params,
		inputs: map[inputKey]*probeInput{}, bases: map[baseKey]*probeBase{},
		psa: e.psa, mem: e.mem, referential: e.referential,
	}
	if e.kyv != nil {
		// The CLI's verdicts are kept per probe and namespace, and a namespace's labels may
		// have changed: this evaluator starts with none.
		n.kyv = &kyvernoEngine{bin: e.kyv.bin, timeout: e.kyv.timeout, done: map[inputKey]*kyvernoOutcome{}}
	}
	var err error
	if n.store, err = referentialStore(append(n.referential, inv.syncedObjects()...)); err != nil {
		return nil, fmt.Errorf("referential data: %w", err)
	}
	inv.Resolve("")
	return n, nil
}
