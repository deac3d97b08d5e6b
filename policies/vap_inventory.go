package policies

import (
	"fmt"
	"sort"
	"strings"

	"github.com/threatcov/threatcov/probes"

	"github.com/threatcov/threatcov/policies/vap"
)

// refusedActions says why the API server would refuse a binding's validationActions, or "":
// they must be Deny, Warn or Audit, exactly, at least one, each once, and not Deny with Warn
// (k8s.io/kubernetes pkg/apis/admissionregistration/validation,
// validateValidationActions).
func refusedActions(actions []string) string {
	if len(actions) == 0 {
		return "validationActions is empty"
	}
	seen := map[string]bool{}
	for _, a := range actions {
		switch {
		case a != "Deny" && a != "Warn" && a != "Audit":
			return fmt.Sprintf("validationActions %q is not Deny, Warn or Audit (compared exactly)", a)
		case seen[a]:
			return fmt.Sprintf("validationActions lists %s twice", a)
		}
		seen[a] = true
	}
	if seen["Deny"] && seen["Warn"] {
		return "validationActions may not hold both Deny and Warn"
	}
	return ""
}

func (b *builder) buildVAPs() {
	bound := map[string]bool{}
	compiled := map[string]*vap.Policy{}
	var params *vap.Params
	for _, n := range sortedKeys(b.vaps) {
		o := b.vaps[n]
		pol, err := vap.NewPolicy(o.Object)
		if err != nil {
			b.errs = append(b.errs, celCompileError(o, "ValidatingAdmissionPolicy "+n, err))
			continue
		}
		compiled[n] = pol
	}
	for _, o := range b.bindings {
		bname := str(o.Object, "metadata", "name")
		pname := str(o.Object, "spec", "policyName")
		actions := strs(o.Object, "spec", "validationActions")
		p := &Policy{
			ID:     fmt.Sprintf("vap:%s/%s", pname, bname),
			Refs:   []string{"vap:" + pname},
			Engine: EngineVAP,
			Point:  probes.PointAdmission,
			Mode:   ModeMonitor,
			Action: "[" + strings.Join(actions, " ") + "]",
			Title:  pname,
			Source: o.Source,
		}
		for _, a := range actions {
			if a == "Deny" {
				p.Mode = ModeEnforce
			}
		}
		def, ok := b.vaps[pname]
		if why := refusedActions(actions); why != "" {
			p.Mode = ModeNone
			p.Notes = append(p.Notes, fmt.Sprintf("binding %s: %s: the API server refuses the binding, so it enforces nothing", bname, why))
		} else if !ok {
			p.Mode = ModeNone
			p.Notes = append(p.Notes, fmt.Sprintf("binding %s names ValidatingAdmissionPolicy %s, which is not in the inventory: it enforces nothing", bname, pname))
		} else {
			bound[pname] = true
			p.Scope = vapScope(def.Object, o.Object)
			if pol := compiled[pname]; pol != nil {
				binding, err := vap.NewBinding(o.Object)
				if err != nil {
					b.fail(o.Source, "ValidatingAdmissionPolicyBinding %s: %v; fix the binding", bname, err)
					continue
				}
				if params == nil {
					params = celParams(b.others)
				}
				p.Verifiable = true
				p.exec = &execSpec{key: p.ID, cel: &celSpec{policy: pol, binding: binding, params: params}}
			}
		}
		b.inv.Policies = append(b.inv.Policies, p)
	}
	names := make([]string, 0, len(b.vaps))
	for n := range b.vaps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if bound[n] {
			continue
		}
		o := b.vaps[n]
		b.inv.Policies = append(b.inv.Policies, &Policy{
			ID: "vap:" + n, Engine: EngineVAP, Point: probes.PointAdmission, Mode: ModeNone, Action: "no binding",
			Title: n, Source: o.Source, Scope: vapScope(o.Object, nil),
			Notes: []string{fmt.Sprintf("ValidatingAdmissionPolicy %s has no ValidatingAdmissionPolicyBinding: it enforces nothing until one binds it", n)},
		})
	}
}

func vapScope(policy, binding map[string]any) string {
	var kinds []string
	for _, r := range list(policy, "spec", "matchConstraints", "resourceRules") {
		for _, g := range strs(r, "apiGroups") {
			if g == "" {
				g = "core"
			}
			for _, res := range strs(r, "resources") {
				kinds = append(kinds, g+"/"+res)
			}
		}
	}
	parts := []string{}
	if len(kinds) > 0 {
		parts = append(parts, "resources="+strings.Join(sortedUnique(kinds), ","))
	}
	if sel, ok := lookup(binding, "spec", "matchResources", "namespaceSelector").(map[string]any); ok && len(sel) > 0 {
		parts = append(parts, "namespaceSelector="+selectorString(sel))
	}
	if len(parts) == 0 {
		return "all objects"
	}
	return strings.Join(parts, "; ")
}
