package policies

import (
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/threatcov/threatcov/probes"

	"github.com/threatcov/threatcov/policies/vap"
)

type template struct {
	kind       string
	obj        Object
	modules    map[string]*ast.Module
	pkg        string
	meta       regoMeta
	hasRego    bool
	engines    []string
	constraint bool // at least one Constraint uses it
	// rejected says why Gatekeeper would refuse the template ("" when it would not).
	rejected string
	// cel is the compiled K8sNativeValidation code, which Gatekeeper runs in preference to
	// Rego when a template has both (its default driver order puts k8scel first).
	cel *vap.Template
}

// gatekeeperImport reports whether Gatekeeper's Rego rewriter accepts an import in a
// template: only libraries under data.lib, future.keywords and the referential data.inventory.
// Anything else (rego.v1 included, as of Gatekeeper v3.23) makes it refuse the template, so
// its constraints enforce nothing however well the Rego would evaluate here.
func gatekeeperImport(path string) bool {
	for _, ok := range []string{"data.lib", "future.keywords", "data.inventory"} {
		if path == ok || strings.HasPrefix(path, ok+".") {
			return true
		}
	}
	return false
}

func (b *builder) addTemplate(o Object) {
	kind := str(o.Object, "spec", "crd", "spec", "names", "kind")
	if kind == "" {
		kind = str(o.Object, "metadata", "name")
	}
	if kind == "" {
		b.fail(o.Source, "ConstraintTemplate has no spec.crd.spec.names.kind; set it")
		return
	}
	if _, dup := b.templates[kind]; dup {
		b.fail(o.Source, "ConstraintTemplate for kind %s is defined twice; remove one", kind)
		return
	}
	t := &template{kind: kind, obj: o, modules: map[string]*ast.Module{}}
	t.rejected = checkTemplateName(str(o.Object, "metadata", "name"), kind)
	r := templateReader{b: b, o: o, t: t}
	for ti, target := range list(o.Object, "spec", "targets") {
		prefix := fmt.Sprintf("spec.targets.%d.", ti)
		if src := str(target, "rego"); src != "" && !t.hasRego {
			if !r.addRego(src, prefix+"rego", list(target, "libs"), prefix+"libs") {
				return
			}
			t.engines = append(t.engines, "Rego")
		}
		for ci, code := range list(target, "code") {
			if !r.addCode(code, ti, fmt.Sprintf("%scode.%d.source", prefix, ci)) {
				return
			}
		}
	}
	t.engines = sortedUnique(t.engines)
	if t.rejected == "" {
		t.rejected = badImport(t, o)
	}
	b.templates[kind] = t
	b.tmplOrder = append(b.tmplOrder, kind)
}

// templateReader reads the code of one ConstraintTemplate into its template; a false result
// means the template failed to compile (the error is recorded in the builder).
type templateReader struct {
	b *builder
	o Object
	t *template
}

// addModule parses one Rego module of the template at its line in the user's file.
func (r templateReader) addModule(key, src, path string) bool {
	line := 0
	if l := r.o.Lines[path]; l > 0 {
		line = l - 1
	}
	m, err := parseRego(r.o.Source.File, src, line)
	if err != nil {
		r.b.errs = append(r.b.errs, fmt.Errorf("ConstraintTemplate %s: %w", r.t.kind, err))
		return false
	}
	r.t.modules[fmt.Sprintf("%s#%s/%s", r.o.Source.File, r.t.kind, key)] = m
	if key == "rego" {
		r.t.pkg = strings.Join(packagePath(m), ".")
		r.t.meta = moduleMeta([]*ast.Module{m})
	}
	return true
}

// addRego adds a template's Rego and its libraries (the legacy rego/libs fields, or a Rego
// entry of code[]).
func (r templateReader) addRego(src, path string, libs []any, libsPath string) bool {
	if !r.addModule("rego", src, path) {
		return false
	}
	for li, lib := range libs {
		if s, ok := lib.(string); ok && !r.addModule(fmt.Sprintf("lib%d", li), s, fmt.Sprintf("%s.%d", libsPath, li)) {
			return false
		}
	}
	r.t.hasRego = true
	return true
}

// addCode adds one code[] entry: the first target's K8sNativeValidation is compiled as CEL,
// which Gatekeeper runs before Rego; the first Rego entry is the template's Rego.
func (r templateReader) addCode(code any, target int, sourcePath string) bool {
	engine := str(code, "engine")
	r.t.engines = append(r.t.engines, engine)
	switch {
	case engine == vap.EngineK8sNativeValidation && r.t.cel == nil && target == 0:
		source, _ := lookup(code, "source").(map[string]any)
		cel, err := vap.NewTemplate(r.t.kind, source, sourcePath)
		if err != nil {
			r.b.errs = append(r.b.errs, celCompileError(r.o, "ConstraintTemplate "+r.t.kind, err))
			return false
		}
		r.t.cel = cel
	case engine == "Rego" && !r.t.hasRego:
		return r.addRego(str(code, "source", "rego"), sourcePath+".rego", list(code, "source", "libs"), sourcePath+".libs")
	}
	return true
}

// badImport says why Gatekeeper refuses the template's imports, or "": templates may import
// only data.lib.*, future.keywords.* and data.inventory.
func badImport(t *template, o Object) string {
	keys := make([]string, 0, len(t.modules))
	for k := range t.modules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, imp := range t.modules[k].Imports {
			if path := importPath(imp); !gatekeeperImport(path) {
				return fmt.Sprintf("Gatekeeper refuses ConstraintTemplate %s (%s:%d): bad import %q; templates may import only data.lib.*, future.keywords.* and data.inventory, so remove the import (Rego v1 source needs no import rego.v1)", t.kind, o.Source.File, importRow(imp), path)
			}
		}
	}
	return ""
}

func (b *builder) buildConstraints() {
	for _, o := range b.constraints {
		kind := str(o.Object, "kind")
		name := str(o.Object, "metadata", "name")
		action := str(o.Object, "spec", "enforcementAction")
		p := &Policy{
			ID:     fmt.Sprintf("gatekeeper:%s/%s", kind, name),
			Refs:   []string{"gatekeeper:" + kind, fmt.Sprintf("gatekeeper:%s/%s", kind, name)},
			Engine: EngineGatekeeper,
			Point:  probes.PointAdmission,
			Source: o.Source,
		}
		p.Mode, p.Action = gatekeeperMode(o.Object, action)
		if p.Mode == ModeNone {
			p.Notes = append(p.Notes, fmt.Sprintf("enforcementAction %q is not one Gatekeeper accepts (%s, compared exactly): the constraint is refused and enforces nothing", action, strings.Join(gatekeeperActions, ", ")))
		}
		match, _ := lookup(o.Object, "spec", "match").(map[string]any)
		p.Scope = matchScope(match)
		p.namespaces = namespacesNamed(match)
		t := b.templates[kind]
		if t == nil {
			p.Mode, p.Action = ModeNone, p.Action+" (no template)"
			p.Notes = append(p.Notes, fmt.Sprintf("no ConstraintTemplate for kind %s in the inventory: without it Gatekeeper has no CRD for the constraint, which enforces nothing; add the template to --policies", kind))
			b.inv.Policies = append(b.inv.Policies, p)
			continue
		}
		t.constraint = true
		p.Title = firstNonEmpty(str(t.obj.Object, "metadata", "annotations", "metadata.gatekeeper.sh/title"), t.meta.title,
			str(t.obj.Object, "metadata", "annotations", "description"), t.meta.description)
		if t.meta.policyID != "" {
			p.Refs = append(p.Refs, "konstraint:"+t.meta.policyID)
		}
		if t.pkg != "" {
			p.Refs = append(p.Refs, "rego:"+t.pkg)
		}
		// Gatekeeper's Rego driver refuses a bad import, but it never sees a template its CEL
		// driver takes.
		if t.rejected != "" && t.cel == nil {
			p.Mode, p.Action = ModeNone, p.Action+" (template refused)"
			p.Notes = append(p.Notes, t.rejected)
			b.inv.Policies = append(b.inv.Policies, p)
			continue
		}
		if t.cel != nil {
			p.Verifiable = true
			p.exec = &execSpec{
				key:        "gatekeeper:" + kind,
				gatekeeper: true,
				match:      match,
				cel:        &celSpec{template: t.cel, constraint: o.Object},
			}
			if t.hasRego {
				p.Notes = append(p.Notes, fmt.Sprintf("template %s has K8sNativeValidation and Rego code: executed as CEL, the engine Gatekeeper runs first", kind))
			}
			b.inv.Policies = append(b.inv.Policies, p)
			continue
		}
		if !t.hasRego {
			p.Notes = append(p.Notes, fmt.Sprintf("template %s has no Rego (engines: %s): declared only", kind, strings.Join(t.engines, ", ")))
			b.inv.Policies = append(b.inv.Policies, p)
			continue
		}
		p.Verifiable = true
		p.exec = &execSpec{
			key:        "gatekeeper:" + kind,
			modules:    t.modules,
			pkg:        t.pkg,
			rules:      []regoRule{{name: "violation", multi: true}},
			gatekeeper: true,
			match:      match,
			params:     lookup(o.Object, "spec", "parameters"),
		}
		b.inv.Policies = append(b.inv.Policies, p)
	}
	for _, kind := range b.tmplOrder {
		t := b.templates[kind]
		if t.constraint {
			continue
		}
		b.inv.Policies = append(b.inv.Policies, &Policy{
			ID:     "gatekeeper:" + kind,
			Engine: EngineGatekeeper,
			Point:  probes.PointAdmission,
			Mode:   ModeNone,
			Action: "no constraint",
			Title:  firstNonEmpty(str(t.obj.Object, "metadata", "annotations", "metadata.gatekeeper.sh/title"), t.meta.title),
			Source: t.obj.Source,
			Notes:  []string{fmt.Sprintf("ConstraintTemplate %s has no Constraint: it enforces nothing until one is deployed", kind)},
		})
	}
}

// gatekeeperMode: deny (the default) enforces; dryrun and warn monitor; scoped enforces when
// some scoped action is deny at the validation webhook (validation.gatekeeper.sh or "*").
func gatekeeperMode(obj map[string]any, action string) (Mode, string) {
	switch action {
	case "", "deny":
		return ModeEnforce, firstNonEmpty(action, "deny")
	case "scoped":
		var parts []string
		mode := ModeMonitor
		for _, s := range list(obj, "spec", "scopedEnforcementActions") {
			a := str(s, "action")
			var points []string
			for _, ep := range list(s, "enforcementPoints") {
				n := str(ep, "name")
				points = append(points, n)
				if a == "deny" && (n == "validation.gatekeeper.sh" || n == "*") {
					mode = ModeEnforce
				}
			}
			parts = append(parts, a+"@"+strings.Join(points, "+"))
		}
		return mode, "scoped(" + strings.Join(parts, ",") + ")"
	case "dryrun", "warn":
		return ModeMonitor, action
	default:
		return ModeNone, action + " (refused)"
	}
}

// matchScope summarises a Gatekeeper/konstraint match block.
func matchScope(m map[string]any) string {
	if len(m) == 0 {
		return "all objects"
	}
	var parts []string
	var kinds []string
	for _, k := range list(m, "kinds") {
		groups := strs(k, "apiGroups")
		for _, kk := range strs(k, "kinds") {
			for _, g := range groups {
				if g == "" {
					g = "core"
				}
				kinds = append(kinds, g+"/"+kk)
			}
			if len(groups) == 0 {
				kinds = append(kinds, kk)
			}
		}
	}
	if len(kinds) > 0 {
		parts = append(parts, "kinds="+strings.Join(sortedUnique(kinds), ","))
	}
	for _, key := range []string{"namespaces", "excludedNamespaces"} {
		if v := strs(m, key); len(v) > 0 {
			parts = append(parts, key+"="+strings.Join(v, ","))
		}
	}
	for _, key := range []string{"scope", "name", "source"} {
		if v := str(m, key); v != "" {
			parts = append(parts, key+"="+v)
		}
	}
	for _, key := range []string{"labelSelector", "namespaceSelector"} {
		if v, ok := m[key].(map[string]any); ok && len(v) > 0 {
			parts = append(parts, key+"="+selectorString(v))
		}
	}
	if len(parts) == 0 {
		return "all objects"
	}
	return strings.Join(parts, "; ")
}

func selectorString(sel map[string]any) string {
	var parts []string
	if ml, ok := sel["matchLabels"].(map[string]any); ok {
		keys := make([]string, 0, len(ml))
		for k := range ml {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%v", k, ml[k]))
		}
	}
	for _, e := range list(sel, "matchExpressions") {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", str(e, "key"), str(e, "operator"), strings.Join(strs(e, "values"), ",")))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// importPath is an import's path in dots ("future.keywords.in"), whatever brackets OPA
// prints it with.
func importPath(imp *ast.Import) string {
	ref, ok := imp.Path.Value.(ast.Ref)
	if !ok {
		return imp.Path.String()
	}
	parts := make([]string, len(ref))
	for i, t := range ref {
		switch v := t.Value.(type) {
		case ast.Var:
			parts[i] = string(v)
		case ast.String:
			parts[i] = string(v)
		default:
			parts[i] = t.String()
		}
	}
	return strings.Join(parts, ".")
}

func importRow(imp *ast.Import) int {
	if imp.Location == nil {
		return 0
	}
	return imp.Location.Row
}
