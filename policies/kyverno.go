package policies

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/threatcov/threatcov/probes"
)

// Kyverno policies are not executed (docs/policies.md says why): they are read statically, and
// never credited from a name alone (docs/semantics.md, "Statuses of a step": declared). A rule
// takes in a request only if its match selects it and its exclude does not; anything in
// either block this reading cannot judge counts against coverage: an unknown match
// criterion does not select, an unknown exclude criterion may exclude.

// kyvernoStatic is what the static reading of one Kyverno policy needs, and what its execution
// by the kyverno CLI needs to read the CLI's report back (kyverno_exec.go).
type kyvernoStatic struct {
	rules []map[string]any
	// autogen: Kyverno copies a Pod rule to the Pod controllers unless the policy's
	// pod-policies.kyverno.io/autogen-controllers annotation says otherwise.
	autogen []string

	// key is the policy as the CLI's report names it: name, or namespace/name for a
	// namespaced Policy.
	key string
	// ruleNames are the rules this Policy stands for (a policy whose rules disagree on
	// failureAction is split, one Policy per rule).
	ruleNames map[string]bool
	// failurePolicy is spec.failurePolicy (Fail unless Ignore): how Kyverno's webhook counts a
	// rule's runtime error.
	failurePolicy string
	// overrides are spec.validationFailureActionOverrides: actions per namespace.
	overrides []any
	// external: some rule loads context (API calls, ConfigMaps, image data) that the CLI,
	// offline, cannot: its errors are not the policy's answer.
	external bool
	// imageRules are the verifyImages rules: they need the registry, so they are not executed.
	imageRules map[string]bool
	// exceptions are the PolicyExceptions of the inventory naming this policy; the static
	// reading lets them exclude (the CLI applies them itself).
	exceptions []map[string]any
	// vp marks a ValidatingPolicy (policies.kyverno.io): its match is not read statically.
	vp bool
	// roleExcluded are the rules an exclude block or a PolicyException leaves out by role or
	// cluster role: offline the attacker holds none, so the CLI's denial cannot be trusted.
	roleExcluded map[string]bool
}

// byRole reports whether a match or exclude block names roles or cluster roles.
func byRole(block any) bool {
	fs := filters(block)
	for _, f := range append(fs.any, fs.all...) {
		if len(strs(f, "roles"))+len(strs(f, "clusterRoles")) > 0 {
			return true
		}
	}
	return false
}

// defaultAutogen are the controllers Kyverno generates rules for by default.
var defaultAutogen = []string{"DaemonSet", "Deployment", "Job", "StatefulSet", "ReplicaSet", "ReplicationController", "CronJob"}

func newKyvernoStatic(obj map[string]any, rules []map[string]any) *kyvernoStatic {
	s := &kyvernoStatic{rules: rules, autogen: defaultAutogen}
	switch v := str(obj, "metadata", "annotations", "pod-policies.kyverno.io/autogen-controllers"); v {
	case "":
	case "none":
		s.autogen = nil
	default:
		s.autogen = strings.Split(v, ",")
	}
	return s
}

// covers reports whether some rule takes in the request r (its operation and subresource
// included), and if not, why.
func (s *kyvernoStatic) covers(r request) (bool, string) {
	why := "no rule matches " + r.kind
	for _, rule := range s.rules {
		ok, reason := s.ruleCovers(rule, r)
		if ok {
			return true, ""
		}
		why = reason
	}
	return false, why
}

func (s *kyvernoStatic) ruleCovers(rule map[string]any, r request) (bool, string) {
	op, kind := r.operation, r.kind
	if r.subResource != "" {
		kind += "/" + r.subResource
	}
	match := filters(rule["match"])
	matched := false
	for _, f := range match.any {
		if ok, _ := resourceSelects(f, kind, r, op, s.autogen, true); ok {
			matched = true
		}
	}
	if len(match.all) > 0 {
		matched = true
		for _, f := range match.all {
			if ok, _ := resourceSelects(f, kind, r, op, s.autogen, true); !ok {
				matched = false
			}
		}
	}
	if !matched {
		return false, fmt.Sprintf("rule %s does not match %s", str(rule, "name"), kind)
	}
	exclude := filters(rule["exclude"])
	for _, f := range exclude.any {
		if ok, _ := resourceSelects(f, kind, r, op, s.autogen, false); ok {
			return false, fmt.Sprintf("rule %s excludes %s in %s", str(rule, "name"), kind, r.namespace)
		}
	}
	if len(exclude.all) > 0 {
		all := true
		for _, f := range exclude.all {
			if ok, _ := resourceSelects(f, kind, r, op, s.autogen, false); !ok {
				all = false
			}
		}
		if all {
			return false, fmt.Sprintf("rule %s excludes %s in %s", str(rule, "name"), kind, r.namespace)
		}
	}
	for _, ex := range s.exceptions {
		if !exceptionNames(ex, s.key, str(rule, "name")) {
			continue
		}
		m := filters(lookup(ex, "spec", "match"))
		selects := len(m.any)+len(m.all) == 0
		for _, f := range m.any {
			if ok, _ := resourceSelects(f, kind, r, op, s.autogen, false); ok {
				selects = true
			}
		}
		if len(m.all) > 0 {
			all := true
			for _, f := range m.all {
				if ok, _ := resourceSelects(f, kind, r, op, s.autogen, false); !ok {
					all = false
				}
			}
			selects = selects || all
		}
		if selects {
			// Its conditions, if any, are not read: they may exempt too.
			return false, fmt.Sprintf("PolicyException %s exempts %s in %s from rule %s", str(ex, "metadata", "name"), kind, r.namespace, str(rule, "name"))
		}
	}
	return true, ""
}

// exceptionNames reports whether a Kyverno PolicyException (kyverno.io) lists the rule of the
// policy named key (name or namespace/name), or one of the rules autogen derives from it.
func exceptionNames(ex map[string]any, key, rule string) bool {
	for _, e := range list(ex, "spec", "exceptions") {
		if pn := str(e, "policyName"); pn != key && !(strings.Contains(key, "/") && pn == key[strings.Index(key, "/")+1:]) {
			continue
		}
		for _, rn := range strs(e, "ruleNames") {
			if baseRule(rn) == rule || rn == rule || rn == "*" {
				return true
			}
		}
	}
	return false
}

// baseRule is the rule a rule name of the CLI's report stands for: autogen names the rules it
// derives for the Pod controllers autogen-NAME and autogen-cronjob-NAME.
func baseRule(name string) string {
	for _, p := range []string{"autogen-cronjob-", "autogen-"} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			return rest
		}
	}
	return name
}

// filterSet is a match or exclude block: any of, or all of, its resource filters. The old
// form (resources directly under match) is one "any" filter.
type filterSet struct{ any, all []map[string]any }

func filters(block any) filterSet {
	var fs filterSet
	m, _ := block.(map[string]any)
	if m == nil {
		return fs
	}
	for _, f := range list(m, "any") {
		if fm, ok := f.(map[string]any); ok {
			fs.any = append(fs.any, fm)
		}
	}
	for _, f := range list(m, "all") {
		if fm, ok := f.(map[string]any); ok {
			fs.all = append(fs.all, fm)
		}
	}
	if len(fs.any)+len(fs.all) == 0 && (m["resources"] != nil || m["subjects"] != nil || m["roles"] != nil || m["clusterRoles"] != nil) {
		fs.any = append(fs.any, m)
	}
	return fs
}

// resourceSelects judges one filter (resources, subjects, roles) on a request. inMatch says
// which way an unknown criterion falls: it does not select in a match, it may select in an
// exclude.
func resourceSelects(f map[string]any, kind string, r request, op string, autogen []string, inMatch bool) (bool, string) {
	res, _ := f["resources"].(map[string]any)
	if kinds := strs(res, "kinds"); len(kinds) > 0 && !kindSelected(kinds, kind, autogen) {
		return false, "kind"
	}
	if ops := strs(res, "operations"); len(ops) > 0 && !slices.Contains(ops, op) {
		return false, "operation"
	}
	if nss := strs(res, "namespaces"); len(nss) > 0 && !wildcardAny(nss, r.namespace) {
		return false, "namespace"
	}
	if names := strs(res, "names"); len(names) > 0 && !wildcardAny(names, r.name) {
		return false, "name"
	}
	if sel, ok := res["selector"].(map[string]any); ok {
		if ok, err := selectorMatches(sel, r.labels); err != nil || !ok {
			return false, "selector"
		}
	}
	if sel, ok := res["namespaceSelector"].(map[string]any); ok {
		if ok, err := selectorMatches(sel, r.nsLabels); err != nil || !ok {
			return false, "namespaceSelector"
		}
	}
	if !subjectsSelect(list(f, "subjects"), r.user) {
		return false, "subject"
	}
	for _, key := range []string{"roles", "clusterRoles"} {
		if len(strs(f, key)) > 0 {
			// RBAC is not known offline: an exclusion by role may apply, a match by role is
			// not taken for granted.
			return !inMatch, key
		}
	}
	if _, ok := res["annotations"]; ok && inMatch {
		return false, "annotations"
	}
	return true, ""
}

// kindSelected: a Pod rule also takes in the Pod controllers Kyverno generates rules for;
// "Pod" does not take in a subresource such as Pod/ephemeralcontainers, which a rule must
// name. Kinds may carry a group and version (apps/v1/Deployment).
func kindSelected(kinds []string, kind string, autogen []string) bool {
	base, sub, _ := strings.Cut(kind, "/")
	for _, k := range kinds {
		rk, rsub := splitKyvernoKind(k)
		switch {
		case sub != "":
			if (rk == base || rk == "*") && (rsub == sub || rsub == "*") {
				return true
			}
		case rsub != "":
		case rk == base || rk == "*":
			return true
		case rk == "Pod" && slices.Contains(autogen, base):
			return true
		}
	}
	return false
}

// splitKyvernoKind reads [group/][version/]Kind[/subresource]: a subresource is lower case.
func splitKyvernoKind(k string) (kind, sub string) {
	parts := strings.Split(k, "/")
	last := parts[len(parts)-1]
	if len(parts) > 1 && last != "" && last[0] >= 'a' && last[0] <= 'z' && last != "*" {
		return parts[len(parts)-2], last
	}
	return last, ""
}

// subjectsSelect reports whether every subject of a Kyverno filter names the requester
// (service account, user or group; names may be wildcards).
func subjectsSelect(subjects []any, u probes.UserInfo) bool {
	for _, s := range subjects {
		name := str(s, "name")
		switch str(s, "kind") {
		case "ServiceAccount":
			if !wildcardAny([]string{"system:serviceaccount:" + str(s, "namespace") + ":" + name}, u.Username) {
				return false
			}
		case "User":
			if !wildcardAny([]string{name}, u.Username) {
				return false
			}
		case "Group":
			if !slices.ContainsFunc(u.Groups, func(g string) bool { return wildcardAny([]string{name}, g) }) {
				return false
			}
		}
	}
	return true
}

func wildcardAny(patterns []string, v string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, v); ok || p == v {
			return true
		}
	}
	return false
}

// kyvernoCovers is the static verdict of a declared Kyverno policy on a probe in a namespace:
// not applicable when no rule takes in any of the requests the probe makes (its own, and the
// Pod its controller creates), else an error saying the policy applies but is not executed.
func (e *Evaluator) kyvernoCovers(p *Policy, probe probes.Probe, in *probeInput, ev Evaluation) Evaluation {
	if p.kyverno.vp {
		// Its match (Kubernetes' matchConstraints and CEL matchConditions) is not read without
		// the CLI: it is credited with nothing.
		ev.Verdict, ev.Messages = VerdictNotApplicable, []string{"a Kyverno ValidatingPolicy is judged only by the kyverno CLI, which is not installed"}
		return ev
	}
	cfg := e.inv.kyvernoConfigOf()
	ok, why := p.kyverno.covers(in.objectRequest)
	if skip := cfg.skips(in.objectRequest); skip != "" {
		ok, why = false, skip
	}
	if !ok && in.pod != nil && cfg.skips(in.podRequest) == "" {
		ok, _ = p.kyverno.covers(in.podRequest)
	}
	if !ok {
		ev.Verdict, ev.Messages = VerdictNotApplicable, []string{why}
		return ev
	}
	ev.Verdict = VerdictError
	ev.Err = fmt.Sprintf("%s: %s policy %s takes in this request but is declared only: threatcov does not execute it", p.Source, p.Engine, p.ID)
	return ev
}

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
	key := name // the CLI names a namespaced Policy namespace/name when it has a namespace
	if ns := str(o.Object, "metadata", "namespace"); o.Object["kind"] == "Policy" && ns != "" {
		key = ns + "/" + name
	}
	specAction := firstNonEmpty(str(o.Object, "spec", "validationFailureAction"), "Audit")
	var rules []kyvernoRule
	var notes []string
	external := false
	imageRules := map[string]bool{}
	for _, r := range list(o.Object, "spec", "rules") {
		rm, _ := r.(map[string]any)
		action := ""
		if rm["context"] != nil {
			external = true
		}
		switch {
		case rm["validate"] != nil:
			action = str(rm, "validate", "failureAction")
		case rm["verifyImages"] != nil:
			imageRules[str(rm, "name")] = true
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
	if len(list(o.Object, "spec", "validationFailureActionOverrides")) > 0 {
		notes = append(notes, "spec.validationFailureActionOverrides: where an override sets Audit, threatcov counts the executed denials as admitted (docs/policies.md)")
	}
	admission := lookup(o.Object, "spec", "admission") != false
	if !admission {
		notes = append(notes, "spec.admission is false: Kyverno applies it in background scans only, never at admission")
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
		p.kyverno.key, p.kyverno.external, p.kyverno.imageRules = key, external, imageRules
		p.kyverno.failurePolicy = firstNonEmpty(str(o.Object, "spec", "failurePolicy"), "Fail")
		p.kyverno.overrides = list(o.Object, "spec", "validationFailureActionOverrides")
		p.kyverno.ruleNames, p.kyverno.roleExcluded = map[string]bool{}, map[string]bool{}
		for _, r := range rs {
			p.kyverno.ruleNames[r.name] = true
			if byRole(r.raw["exclude"]) {
				p.kyverno.roleExcluded[r.name] = true
			}
		}
		if !admission {
			p.Mode = ModeNone
		}
		p.Scope = "kinds=" + strings.Join(sortedUnique(kinds), ",")
		if len(kinds) == 0 {
			p.Scope = "all objects"
		}
		return p
	}
	b.kyvernoDocs = append(b.kyvernoDocs, o)
	if sameMode {
		b.inv.Policies = append(b.inv.Policies, newPolicy(id, rules))
		return
	}
	// Rules disagree on enforcement: one policy per rule so each counts as what it is.
	for _, r := range rules {
		b.inv.Policies = append(b.inv.Policies, newPolicy(id+"/"+r.name, []kyvernoRule{r}))
	}
}

// addKyvernoVP reads a Kyverno ValidatingPolicy or NamespacedValidatingPolicy
// (policies.kyverno.io): CEL validations with Kubernetes' matchConstraints, enforced as its
// validationActions say (Deny when none is given, as Kyverno defaults).
func (b *builder) addKyvernoVP(o Object) {
	name := str(o.Object, "metadata", "name")
	id, key := "kyverno:"+name, name
	if ns := str(o.Object, "metadata", "namespace"); o.Object["kind"] == "NamespacedValidatingPolicy" && ns != "" {
		id, key = "kyverno:"+ns+"/"+name, ns+"/"+name
	}
	actions := strs(o.Object, "spec", "validationActions")
	if len(actions) == 0 {
		actions = []string{"Deny"}
	}
	p := &Policy{
		ID: id, Refs: []string{"kyverno:" + name}, Engine: EngineKyverno, Point: probes.PointAdmission,
		Mode: ModeMonitor, Action: "[" + strings.Join(actions, " ") + "]", Title: name, Source: o.Source,
		Scope: vapScope(map[string]any{"spec": map[string]any{"matchConstraints": lookup(o.Object, "spec", "matchConstraints")}}, nil),
	}
	if slices.Contains(actions, "Deny") {
		p.Mode = ModeEnforce
	}
	if lookup(o.Object, "spec", "evaluation", "admission", "enabled") == false {
		p.Mode = ModeNone
		p.Notes = append(p.Notes, "spec.evaluation.admission.enabled is false: Kyverno never applies it at admission")
	}
	p.kyverno = &kyvernoStatic{key: key, vp: true, failurePolicy: firstNonEmpty(str(o.Object, "spec", "failurePolicy"), "Fail"), imageRules: map[string]bool{}}
	b.kyvernoDocs = append(b.kyvernoDocs, o)
	b.inv.Policies = append(b.inv.Policies, p)
}

// isKyvernoException reports whether the object is a Kyverno PolicyException: kyverno.io
// (ClusterPolicy and Policy rules) or policies.kyverno.io (the CEL policies).
func isKyvernoException(g, kind string) bool {
	return kind == "PolicyException" && (g == "kyverno.io" || g == "policies.kyverno.io")
}

// attachKyvernoExceptions gives each Kyverno policy's static reading the exceptions that name
// it, and the inventory all of them for the CLI.
func (b *builder) attachKyvernoExceptions() {
	b.inv.kyverno = &kyvernoSet{docs: b.kyvernoDocs, exceptions: b.kyvernoExceptions}
	if len(b.kyvernoDocs) == 0 {
		b.inv.kyverno = nil
	}
	for _, p := range b.inv.Policies {
		if p.kyverno == nil {
			continue
		}
		for _, ex := range b.kyvernoExceptions {
			p.kyverno.exceptions = append(p.kyverno.exceptions, ex.Object)
			if !byRole(lookup(ex.Object, "spec", "match")) {
				continue
			}
			for r := range p.kyverno.ruleNames {
				if exceptionNames(ex.Object, p.kyverno.key, r) {
					p.kyverno.roleExcluded[r] = true
				}
			}
		}
	}
}
