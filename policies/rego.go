package policies

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/threatcov/threatcov/probes"
)

// regoRule is one rule whose values decide a verdict.
type regoRule struct {
	name  string
	multi bool // a partial set (deny contains msg / deny[msg]) rather than a single value
}

// regoModule is a parsed module and the package it defines.
type regoModule struct {
	key    string // unique name inside a compiler
	mod    *ast.Module
	pkg    string // dotted package path without "data."
	source Location
}

var decisionRule = regexp.MustCompile(`^(deny|violation|warn)(_[A-Za-z0-9_]+)?$`)

// parseRego parses Rego v1 first and falls back to v0, per module. lineOffset shifts rows so
// Rego embedded in YAML reports the YAML file's lines.
func parseRego(file, src string, lineOffset int) (*ast.Module, error) {
	if lineOffset > 0 {
		src = strings.Repeat("\n", lineOffset) + src
	}
	opts := ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1, Capabilities: parserCapsV1()}
	m, errV1 := ast.ParseModuleWithOpts(file, src, opts)
	if errV1 == nil {
		return m, nil
	}
	opts.RegoVersion, opts.Capabilities = ast.RegoV0, parserCapsV0()
	m, errV0 := ast.ParseModuleWithOpts(file, src, opts)
	if errV0 == nil {
		return m, nil
	}
	// Report the version the module most likely targets: v0 syntax (rules without "if")
	// makes the v1 parser complain about "if"/"contains"; show the v0 error then.
	if strings.Contains(errV1.Error(), "`if` keyword is required") || strings.Contains(errV1.Error(), "`contains` keyword is required") {
		return nil, fmt.Errorf("%w: %s (tried Rego v1 and v0); fix the syntax", ErrInput, strings.Join(astErrors(errV0), "; "))
	}
	return nil, fmt.Errorf("%w: %s (tried Rego v1 and v0); fix the syntax", ErrInput, strings.Join(astErrors(errV1), "; "))
}

// The capabilities the parser assumes when given none, built once: the parser built them
// (cloning and sorting every built-in) on each call, a sixth of the time to parse a small
// module such as a ConstraintTemplate's. The parser only reads them.
var (
	parserCapsV1 = sync.OnceValue(func() *ast.Capabilities {
		return ast.CapabilitiesForThisVersion(ast.CapabilitiesRegoVersion(ast.RegoV1))
	})
	parserCapsV0 = sync.OnceValue(func() *ast.Capabilities {
		return ast.CapabilitiesForThisVersion(ast.CapabilitiesRegoVersion(ast.RegoV0))
	})
)

// astErrors formats OPA errors as "file:row: code: message", keeping OPA's location.
func astErrors(err error) []string {
	var errs ast.Errors
	if !errors.As(err, &errs) {
		return []string{err.Error()}
	}
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		loc := ""
		if e.Location != nil {
			loc = fmt.Sprintf("%s:%d: ", e.Location.File, e.Location.Row)
		}
		out = append(out, fmt.Sprintf("%s%s: %s", loc, e.Code, e.Message))
	}
	return out
}

func packagePath(m *ast.Module) []string {
	var out []string
	for _, t := range m.Package.Path[1:] {
		if s, ok := t.Value.(ast.String); ok {
			out = append(out, string(s))
		} else {
			out = append(out, t.Value.String())
		}
	}
	return out
}

func ruleName(r *ast.Rule) string {
	ref := r.Head.Ref()
	if len(ref) != 1 {
		return ""
	}
	if v, ok := ref[0].Value.(ast.Var); ok {
		return string(v)
	}
	return ""
}

// decisionRules lists the conftest/Gatekeeper decision rules of a package's modules, sorted.
func decisionRules(mods []*ast.Module) []regoRule {
	seen := map[string]bool{}
	var out []regoRule
	for _, m := range mods {
		for _, r := range m.Rules {
			name := ruleName(r)
			if !decisionRule.MatchString(name) || seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, regoRule{name: name, multi: r.Head.RuleKind() == ast.MultiValue})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// regoMeta is what konstraint and conftest conventions say about a package.
type regoMeta struct {
	title, description string
	policyID           string
	enforcement        string
	matchers           map[string]any
}

func moduleMeta(mods []*ast.Module) regoMeta {
	var md regoMeta
	for _, m := range mods {
		for _, a := range m.Annotations {
			if md.title == "" {
				md.title = a.Title
			}
			if md.description == "" {
				md.description = a.Description
			}
			if v, ok := a.Custom["policyID"].(string); ok && md.policyID == "" {
				md.policyID = v
			}
			if v, ok := a.Custom["enforcement"].(string); ok && md.enforcement == "" {
				md.enforcement = v
			}
			if v, ok := a.Custom["matchers"].(map[string]any); ok && md.matchers == nil {
				md.matchers = v
			}
		}
		for _, r := range m.Rules {
			if ruleName(r) != "policyID" || md.policyID != "" || r.Head.Value == nil {
				continue
			}
			if s, ok := r.Head.Value.Value.(ast.String); ok {
				md.policyID = string(s)
			}
		}
		// konstraint before METADATA: "# @title ..." comments.
		for _, c := range m.Comments {
			text := strings.TrimSpace(string(c.Text))
			if t, ok := strings.CutPrefix(text, "@title "); ok && md.title == "" {
				md.title = strings.TrimSpace(t)
			}
		}
	}
	return md
}

// dependencies returns the packages (from pool) that mods reference through data.*,
// transitively, excluding the packages of mods themselves. pkgs is pool's keys, sorted.
// Each reference costs a map lookup per dotted prefix and a binary search for the packages
// under it, not a scan of the pool: with one call per policy, a scan made loading P policies
// cost P^2.
func dependencies(own string, pool map[string][]regoModule, pkgs []string) []string {
	need := map[string]bool{own: true}
	queue := []string{own}
	add := func(p string) {
		if !need[p] {
			need[p] = true
			queue = append(queue, p)
		}
	}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, rm := range pool[cur] {
			for _, ref := range dataRefs(rm.mod) {
				// Packages that are ref or a dotted prefix of it.
				for i := len(ref); i > 0; i = strings.LastIndexByte(ref[:i], '.') {
					if _, ok := pool[ref[:i]]; ok {
						add(ref[:i])
					}
				}
				// Packages under ref: sorted, they follow ref (and "ref.") contiguously
				// among the names starting with ref.
				for i := sort.SearchStrings(pkgs, ref); i < len(pkgs) && strings.HasPrefix(pkgs[i], ref); i++ {
					if prefixDotted(ref, pkgs[i]) {
						add(pkgs[i])
					}
				}
			}
		}
	}
	delete(need, own)
	out := make([]string, 0, len(need))
	for p := range need {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func prefixDotted(prefix, s string) bool {
	return s == prefix || strings.HasPrefix(s, prefix+".")
}

// dataRefs lists the static part of every data.* reference (and import) in a module.
func dataRefs(m *ast.Module) []string {
	seen := map[string]bool{}
	add := func(ref ast.Ref) {
		if len(ref) < 2 || !ref[0].Equal(ast.DefaultRootDocument) {
			return
		}
		var parts []string
		for _, t := range ref[1:] {
			s, ok := t.Value.(ast.String)
			if !ok {
				break
			}
			parts = append(parts, string(s))
		}
		if len(parts) > 0 {
			seen[strings.Join(parts, ".")] = true
		}
	}
	for _, imp := range m.Imports {
		if r, ok := imp.Path.Value.(ast.Ref); ok {
			add(r)
		}
	}
	ast.WalkRefs(m, func(r ast.Ref) bool {
		add(r)
		return false
	})
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// addRegoFile parses one .rego file into the builder's module pool.
func (b *builder) addRegoFile(path string, data []byte) error {
	m, err := parseRego(path, string(data), 0)
	if err != nil {
		return err
	}
	pkg := strings.Join(packagePath(m), ".")
	line := 0
	if m.Package.Location != nil {
		line = m.Package.Location.Row
	}
	b.rego[pkg] = append(b.rego[pkg], regoModule{key: path, mod: m, pkg: pkg, source: Location{File: path, Line: line}})
	return nil
}

// buildRegoPolicies makes one pipeline policy per package with decision rules; the other
// packages are libraries, compiled in only where referenced.
func (b *builder) buildRegoPolicies() {
	pkgs := make([]string, 0, len(b.rego))
	for p := range b.rego {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		rms := b.rego[pkg]
		mods := make([]*ast.Module, len(rms))
		for i, rm := range rms {
			mods[i] = rm.mod
		}
		rules := decisionRules(mods)
		if len(rules) == 0 {
			for _, rm := range rms {
				b.skip(Location{File: rm.source.File}, fmt.Sprintf("Rego package %s has no deny, violation or warn rule (library)", pkg))
			}
			continue
		}
		md := moduleMeta(mods)
		p := &Policy{
			ID:         "rego:" + pkg,
			Refs:       []string{"rego:" + pkg},
			Engine:     EngineRego,
			Point:      probes.PointPipeline,
			Title:      firstNonEmpty(md.title, md.description),
			Source:     rms[0].source,
			Verifiable: true,
		}
		if md.policyID != "" {
			p.Refs = append(p.Refs, "konstraint:"+md.policyID)
		}
		p.Mode, p.Action = regoMode(md.enforcement, rules)
		p.Scope = matchersScope(md.matchers)
		modules := map[string]*ast.Module{}
		for _, rm := range rms {
			modules[rm.key] = rm.mod
		}
		for _, dep := range dependencies(pkg, b.rego, pkgs) {
			for _, rm := range b.rego[dep] {
				modules[rm.key] = rm.mod
			}
		}
		p.exec = &execSpec{
			key:     p.ID,
			modules: modules,
			pkg:     pkg,
			rules:   verdictRules(rules),
		}
		b.inv.Policies = append(b.inv.Policies, p)
	}
}

// verdictRules picks the rules whose values mean "would deny": deny/violation, or warn rules
// when a package has nothing else (a warn-only policy's logic is its warning).
func verdictRules(rules []regoRule) []regoRule {
	var deny []regoRule
	for _, r := range rules {
		if !strings.HasPrefix(r.name, "warn") {
			deny = append(deny, r)
		}
	}
	if len(deny) == 0 {
		return rules
	}
	return deny
}

func regoMode(enforcement string, rules []regoRule) (Mode, string) {
	switch strings.ToLower(enforcement) {
	case "deny":
		return ModeEnforce, enforcement
	case "dryrun", "warn":
		return ModeMonitor, enforcement
	}
	for _, r := range rules {
		if !strings.HasPrefix(r.name, "warn") {
			return ModeEnforce, "deny"
		}
	}
	return ModeMonitor, "warn"
}

func matchersScope(m map[string]any) string {
	if len(m) == 0 {
		return "all manifests"
	}
	return matchScope(m)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
