// The inventory builder: it reads Kubernetes objects (from files or a cluster) and hands each
// to the reader of its engine (gatekeeper_templates.go, kyverno.go, psa.go, vap_inventory.go).

package policies

import (
	"errors"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	psaapi "k8s.io/pod-security-admission/api"
)

// execSpec is what the Evaluator needs to run a verifiable policy.
type execSpec struct {
	// Rego (files and Gatekeeper templates).
	key        string // compile cache key: constraints of one template share a query
	modules    map[string]*ast.Module
	pkg        string
	rules      []regoRule
	gatekeeper bool           // input.review shape, match and parameters
	match      map[string]any // Constraint spec.match
	params     any            // Constraint spec.parameters
	// PSA.
	psaNamespace string
	psaLevel     psaapi.LevelVersion
	// CEL: ValidatingAdmissionPolicies and Gatekeeper K8sNativeValidation (cel.go).
	cel *celSpec
}

type builder struct {
	inv         *Inventory
	errs        []error
	rego        map[string][]regoModule
	templates   map[string]*template
	tmplOrder   []string
	constraints []Object
	vaps        map[string]Object
	bindings    []Object
	gkConfig    gatekeeperConfig
	others      []Object // not policies: ValidatingAdmissionPolicy params
	// Kyverno policies and PolicyExceptions as read, for the kyverno CLI.
	kyvernoDocs, kyvernoExceptions []Object
}

func newBuilder() *builder {
	return &builder{
		inv:       &Inventory{},
		rego:      map[string][]regoModule{},
		templates: map[string]*template{},
		vaps:      map[string]Object{},
	}
}

func (b *builder) skip(loc Location, reason string) {
	b.inv.Skipped = append(b.inv.Skipped, Skip{File: loc.File, Line: loc.Line, Reason: reason})
}

func (b *builder) fail(loc Location, format string, args ...any) {
	b.errs = append(b.errs, fmt.Errorf("%w: %s: %s", ErrInput, loc, fmt.Sprintf(format, args...)))
}

func group(apiVersion string) string {
	if i := strings.Index(apiVersion, "/"); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

func (b *builder) addObject(o Object) {
	if o.Object == nil {
		b.skip(o.Source, "YAML document is not a Kubernetes object")
		return
	}
	kind, _ := o.Object["kind"].(string)
	apiVersion, _ := o.Object["apiVersion"].(string)
	g := group(apiVersion)
	if kind != "" {
		if b.inv.objects == nil {
			b.inv.objects = map[string][]map[string]any{}
		}
		b.inv.objects[kind] = append(b.inv.objects[kind], o.Object)
	}
	switch {
	case kind == "":
		b.skip(o.Source, "document has no kind")
	case g == "templates.gatekeeper.sh" && kind == "ConstraintTemplate":
		b.addTemplate(o)
	case g == "constraints.gatekeeper.sh":
		b.constraints = append(b.constraints, o)
	case g == "config.gatekeeper.sh" && kind == "Config":
		b.addGatekeeperConfig(o)
	case g == "admissionregistration.k8s.io" && kind == "ValidatingWebhookConfiguration" && isGatekeeperWebhook(o.Object):
		b.addGatekeeperWebhook(o)
	case g == "expansion.gatekeeper.sh" && kind == "ExpansionTemplate":
		b.addExpansionTemplate(o)
	case g == "" && kind == "LimitRange":
		// Read by limitDefaults: LimitRanger fills resources before validation.
	case g == "kyverno.io" && (kind == "ClusterPolicy" || kind == "Policy"):
		b.addKyverno(o)
	case g == "policies.kyverno.io" && (kind == "ValidatingPolicy" || kind == "NamespacedValidatingPolicy"):
		b.addKyvernoVP(o)
	case g == "" && kind == "ConfigMap" && str(o.Object, "metadata", "name") == KyvernoConfigMap:
		b.addKyvernoConfig(o)
	case isKyvernoException(g, kind):
		b.kyvernoExceptions = append(b.kyvernoExceptions, o)
	case g == "" && kind == "Namespace":
		b.addNamespace(o)
	case g == "admissionregistration.k8s.io" && kind == "ValidatingAdmissionPolicy":
		name := str(o.Object, "metadata", "name")
		b.vaps[name] = o
	case g == "admissionregistration.k8s.io" && kind == "ValidatingAdmissionPolicyBinding":
		b.bindings = append(b.bindings, o)
	default:
		b.others = append(b.others, o)
		b.skip(o.Source, fmt.Sprintf("%s %s is not a policy", apiVersion, kind))
	}
}

func (b *builder) build() (*Inventory, error) {
	b.inv.gkExempt, b.inv.synced = b.gkConfig.exempt, b.gkConfig.sync
	b.noteIgnoredNamespaces()
	b.buildRegoPolicies()
	b.buildConstraints()
	b.buildVAPs()
	b.attachKyvernoExceptions()
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	seen := map[string]Location{}
	for _, p := range b.inv.Policies {
		if prev, dup := seen[p.ID]; dup {
			return nil, fmt.Errorf("%w: %s: policy %s is defined twice (also at %s); remove one", ErrInput, p.Source, p.ID, prev)
		}
		seen[p.ID] = p.Source
	}
	if b.inv.kyverno != nil {
		b.inv.Exemptions = append(b.inv.Exemptions, b.inv.kyvernoConfigOf().exemption())
	}
	b.inv.sortAll()
	return b.inv, nil
}

// lookup walks nested maps and slices by keys (strings) and indexes (ints).
func lookup(v any, path ...any) any {
	for _, k := range path {
		switch key := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[key]
		case int:
			s, ok := v.([]any)
			if !ok || key < 0 || key >= len(s) {
				return nil
			}
			v = s[key]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := lookup(v, path...).(string)
	return s
}

func list(v any, path ...any) []any {
	s, _ := lookup(v, path...).([]any)
	return s
}

func strs(v any, path ...any) []string {
	var out []string
	for _, e := range list(v, path...) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
