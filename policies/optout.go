package policies

import (
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
)

// OptOut is a label or annotation an attacker can set on their own object because some
// deployed policy reads it: a constraint that skips objects carrying it, or Rego that
// exempts them. Probes carrying it show whether the policy lets the attack through
// (docs/semantics.md, "Statuses of a step": opt-out copies).
type OptOut struct {
	Key        string
	Value      string
	Annotation bool // an annotation rather than a label
}

// optOutValue is the value set where the policy does not say which one exempts.
const optOutValue = "true"

// OptOuts lists every label and annotation key the deployed policies read from the object
// under review: keys of constraint labelSelectors that exempt by the label's presence or
// value (DoesNotExist, NotIn), keys of Kyverno exclude selectors, and keys Rego reads from
// metadata.labels or metadata.annotations (by reference or object.get). Sorted, unique by
// key. O(policy source size).
func (inv *Inventory) OptOuts() []OptOut {
	found := map[OptOut]bool{}
	add := func(o OptOut) {
		if o.Key != "" {
			found[o] = true
		}
	}
	for _, p := range inv.Policies {
		for _, o := range p.optOuts {
			add(o)
		}
		if p.exec == nil {
			continue
		}
		for _, o := range selectorOptOuts(p.exec.match) {
			add(o)
		}
		for _, m := range p.exec.modules {
			for _, o := range regoOptOuts(m) {
				add(o)
			}
		}
	}
	out := make([]OptOut, 0, len(found))
	for o := range found {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Annotation != out[j].Annotation {
			return !out[i].Annotation
		}
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].Value < out[j].Value
	})
	// One value per key: the first in order (the policy's own value before "true").
	var uniq []OptOut
	for _, o := range out {
		if n := len(uniq); n > 0 && uniq[n-1].Key == o.Key && uniq[n-1].Annotation == o.Annotation {
			if uniq[n-1].Value == optOutValue {
				uniq[n-1] = o
			}
			continue
		}
		uniq = append(uniq, o)
	}
	return uniq
}

// selectorOptOuts reads a Gatekeeper match block's labelSelector: an expression that leaves
// out objects with a label (DoesNotExist) or with certain values (NotIn) is an opt-out.
func selectorOptOuts(match map[string]any) []OptOut {
	var out []OptOut
	for _, e := range list(match, "labelSelector", "matchExpressions") {
		switch str(e, "operator") {
		case "DoesNotExist":
			out = append(out, OptOut{Key: str(e, "key"), Value: optOutValue})
		case "NotIn":
			for _, v := range strs(e, "values") {
				out = append(out, OptOut{Key: str(e, "key"), Value: v})
				break
			}
		}
	}
	return out
}

// kyvernoOptOuts reads a Kyverno rule's exclude block: labels and annotations it excludes
// objects by.
func kyvernoOptOuts(rule any) []OptOut {
	var out []OptOut
	filters := []any{lookup(rule, "exclude")}
	for _, blk := range []string{"any", "all"} {
		filters = append(filters, list(rule, "exclude", blk)...)
	}
	for _, f := range filters {
		if m, ok := lookup(f, "resources", "selector", "matchLabels").(map[string]any); ok {
			for k, v := range m {
				out = append(out, OptOut{Key: k, Value: str(v)})
			}
		}
		for _, e := range list(f, "resources", "selector", "matchExpressions") {
			if op := str(e, "operator"); op == "In" || op == "Exists" {
				v := optOutValue
				if vs := strs(e, "values"); len(vs) > 0 {
					v = vs[0]
				}
				out = append(out, OptOut{Key: str(e, "key"), Value: v})
			}
		}
		if m, ok := lookup(f, "resources", "annotations").(map[string]any); ok {
			for k, v := range m {
				out = append(out, OptOut{Key: k, Value: str(v), Annotation: true})
			}
		}
	}
	return out
}

// regoOptOuts finds the label and annotation keys a module reads: x.labels["key"],
// x.annotations["key"] and object.get(x.labels, "key", default).
func regoOptOuts(m *ast.Module) []OptOut {
	var out []OptOut
	// Keys are often named once: annotation := "example.com/exempt".
	consts := map[string]ast.String{}
	for _, r := range m.Rules {
		if r.Head.Value == nil || len(r.Body) != 1 || r.Body[0].String() != "true" {
			continue
		}
		if s, ok := r.Head.Value.Value.(ast.String); ok {
			consts[r.Head.Name.String()] = s
		}
	}
	keyAfter := func(field string, key *ast.Term) {
		s, ok := key.Value.(ast.String)
		if !ok {
			switch v := key.Value.(type) {
			case ast.Var:
				s, ok = consts[string(v)]
			case ast.Ref:
				if len(v) > 0 {
					name, _ := v[len(v)-1].Value.(ast.String)
					s, ok = consts[string(name)]
				}
			}
		}
		if !ok {
			return
		}
		switch field {
		case "labels":
			out = append(out, OptOut{Key: string(s), Value: optOutValue})
		case "annotations":
			out = append(out, OptOut{Key: string(s), Value: optOutValue, Annotation: true})
		}
	}
	lastField := func(t *ast.Term) string {
		ref, ok := t.Value.(ast.Ref)
		if !ok || len(ref) == 0 {
			return ""
		}
		s, _ := ref[len(ref)-1].Value.(ast.String)
		return string(s)
	}
	ast.WalkTerms(m, func(t *ast.Term) bool {
		switch v := t.Value.(type) {
		case ast.Ref:
			for i := 0; i+1 < len(v); i++ {
				if s, ok := v[i].Value.(ast.String); ok {
					keyAfter(string(s), v[i+1])
				}
			}
		case ast.Call:
			if len(v) == 4 && v[0].String() == "object.get" {
				keyAfter(lastField(v[1]), v[2])
			}
		}
		return false
	})
	ast.WalkExprs(m, func(e *ast.Expr) bool {
		if e.IsCall() && e.Operator().String() == "object.get" && len(e.Operands()) == 3 {
			ops := e.Operands()
			keyAfter(lastField(ops[0]), ops[1])
		}
		return false
	})
	return out
}
