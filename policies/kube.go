package policies

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/threatcov/threatcov/probes"
	psaapi "k8s.io/pod-security-admission/api"

	"github.com/threatcov/threatcov/policies/vap"
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
}

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
	case g == "expansion.gatekeeper.sh" && kind == "ExpansionTemplate":
		b.addExpansionTemplate(o)
	case g == "" && kind == "LimitRange":
		// Read by limitDefaults: LimitRanger fills resources before validation.
	case g == "kyverno.io" && (kind == "ClusterPolicy" || kind == "Policy"):
		b.addKyverno(o)
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

// --- Gatekeeper ---

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

// --- Kyverno ---

type kyvernoRule struct {
	name       string
	action     string
	mode       Mode
	kinds      []string
	namespaces []string // named in match or exclude
	optOuts    []OptOut
	raw        map[string]any
}

func kyvernoMode(action string) (Mode, bool) {
	switch strings.ToLower(action) {
	case "enforce":
		return ModeEnforce, true
	case "audit":
		return ModeMonitor, true
	}
	return ModeMonitor, false
}

func (b *builder) addKyverno(o Object) {
	name := str(o.Object, "metadata", "name")
	id := "kyverno:" + name
	if o.Object["kind"] == "Policy" {
		if ns := str(o.Object, "metadata", "namespace"); ns != "" {
			id = "kyverno:" + ns + "/" + name
		}
	}
	specAction := firstNonEmpty(str(o.Object, "spec", "validationFailureAction"), "Audit")
	var rules []kyvernoRule
	var notes []string
	for _, r := range list(o.Object, "spec", "rules") {
		rm, _ := r.(map[string]any)
		action := ""
		switch {
		case rm["validate"] != nil:
			action = str(rm, "validate", "failureAction")
		case rm["verifyImages"] != nil:
			for _, vi := range list(rm, "verifyImages") {
				action = firstNonEmpty(str(vi, "failureAction"), str(vi, "validationFailureAction"))
			}
		default:
			continue
		}
		action = firstNonEmpty(action, specAction)
		mode, ok := kyvernoMode(action)
		if !ok {
			notes = append(notes, fmt.Sprintf("rule %s: unknown failure action %q, treated as Audit", str(rm, "name"), action))
		}
		var kinds, namespaces []string
		for _, blk := range []string{"any", "all"} {
			for _, f := range list(rm, "match", blk) {
				kinds = append(kinds, strs(f, "resources", "kinds")...)
			}
		}
		kinds = append(kinds, strs(rm, "match", "resources", "kinds")...)
		for _, clause := range []string{"match", "exclude"} {
			namespaces = append(namespaces, strs(rm, clause, "resources", "namespaces")...)
			for _, blk := range []string{"any", "all"} {
				for _, f := range list(rm, clause, blk) {
					namespaces = append(namespaces, strs(f, "resources", "namespaces")...)
				}
			}
		}
		rules = append(rules, kyvernoRule{name: str(rm, "name"), action: action, mode: mode, kinds: kinds, namespaces: namespaces, optOuts: kyvernoOptOuts(rm), raw: rm})
	}
	if len(rules) == 0 {
		b.skip(o.Source, fmt.Sprintf("Kyverno %s %s has no validate or verifyImages rule", o.Object["kind"], name))
		return
	}
	title := firstNonEmpty(str(o.Object, "metadata", "annotations", "policies.kyverno.io/title"), name)
	sameMode := true
	for _, r := range rules[1:] {
		sameMode = sameMode && r.mode == rules[0].mode && strings.EqualFold(r.action, rules[0].action)
	}
	newPolicy := func(id string, rs []kyvernoRule) *Policy {
		p := &Policy{
			ID: id, Refs: []string{"kyverno:" + name}, Engine: EngineKyverno, Point: probes.PointAdmission,
			Mode: rs[0].mode, Action: rs[0].action, Title: title, Source: o.Source, Notes: notes,
		}
		var kinds []string
		var raw []map[string]any
		for _, r := range rs {
			raw = append(raw, r.raw)
			p.Refs = append(p.Refs, "kyverno:"+name+"/"+r.name)
			kinds = append(kinds, r.kinds...)
			p.namespaces = append(p.namespaces, r.namespaces...)
			p.optOuts = append(p.optOuts, r.optOuts...)
		}
		p.kyverno = newKyvernoStatic(o.Object, raw)
		p.Scope = "kinds=" + strings.Join(sortedUnique(kinds), ",")
		if len(kinds) == 0 {
			p.Scope = "all objects"
		}
		return p
	}
	if sameMode {
		b.inv.Policies = append(b.inv.Policies, newPolicy(id, rules))
		return
	}
	// Rules disagree on enforcement: one policy per rule so each counts as what it is.
	for _, r := range rules {
		b.inv.Policies = append(b.inv.Policies, newPolicy(id+"/"+r.name, []kyvernoRule{r}))
	}
}

// --- Pod Security Admission ---

func (b *builder) addNamespace(o Object) {
	name := str(o.Object, "metadata", "name")
	labels := map[string]string{}
	if m, ok := lookup(o.Object, "metadata", "labels").(map[string]any); ok {
		for k, v := range m {
			labels[k] = fmt.Sprint(v)
		}
	}
	b.inv.Namespaces = append(b.inv.Namespaces, Namespace{Name: name, Labels: labels, Source: o.Source})
	pol, errs := psaapi.PolicyToEvaluate(labels, psaapi.Policy{
		Enforce: psaapi.LevelVersion{Level: psaapi.LevelPrivileged, Version: psaapi.LatestVersion()},
		Audit:   psaapi.LevelVersion{Level: psaapi.LevelPrivileged, Version: psaapi.LatestVersion()},
		Warn:    psaapi.LevelVersion{Level: psaapi.LevelPrivileged, Version: psaapi.LatestVersion()},
	})
	var notes []string
	for _, e := range errs {
		notes = append(notes, "invalid Pod Security label: "+e.Error()+" (the API server falls back to restricted/latest for enforce)")
	}
	modes := []struct {
		name, label string
		lv          psaapi.LevelVersion
		mode        Mode
	}{
		{"enforce", psaapi.EnforceLevelLabel, pol.Enforce, ModeEnforce},
		{"audit", psaapi.AuditLevelLabel, pol.Audit, ModeMonitor},
		{"warn", psaapi.WarnLevelLabel, pol.Warn, ModeMonitor},
	}
	for _, m := range modes {
		raw, ok := labels[m.label]
		if !ok {
			continue
		}
		version := labels[m.label+"-version"]
		action := m.name + "=" + raw
		if version != "" {
			action += "," + m.name + "-version=" + version
		}
		p := &Policy{
			ID:         fmt.Sprintf("psa:%s/%s", name, m.name),
			Refs:       []string{"psa:" + string(m.lv.Level), "psa:" + name},
			Engine:     EnginePSA,
			Point:      probes.PointAdmission,
			Mode:       m.mode,
			Action:     action,
			Title:      fmt.Sprintf("Pod Security %s (%s) %s in namespace %s", m.lv.Level, m.lv.Version, m.name, name),
			Scope:      "namespace=" + name,
			Source:     o.Source,
			Verifiable: true,
			Notes:      notes,
			exec:       &execSpec{key: "psa", psaNamespace: name, psaLevel: m.lv},
		}
		if m.lv.Level == psaapi.LevelRestricted {
			p.Refs = append(p.Refs, "psa:"+string(psaapi.LevelBaseline))
		}
		b.inv.Policies = append(b.inv.Policies, p)
	}
}

// --- ValidatingAdmissionPolicy ---

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
