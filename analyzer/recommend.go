package analyzer

import (
	"context"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sort"
	"strings"

	"github.com/threatcov/threatcov/internal/subsets"
	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies"
)

// exactLimit is the largest number of candidate groups searched exhaustively for the smallest
// set that closes every closable path (2^12 subsets, each a count per goal).
const exactLimit = 12

// candidate is one change a team can make and the path elements it would close.
type candidate struct {
	action, policy string
	change         string // the concrete change, as reports print it
	source         string // deploy: the public library folder
	location       string // the file:line to change
	causes         []string
	sim            *change // how to re-analyse it; nil: estimated
	established    Established
	alternatives   []string
	elements       []int
	steps          []string
}

// recommend finds the smallest set of policy changes (deploy a mapped policy, switch a
// monitoring policy to enforce, fix a bypassed policy) that closes every open path that
// policies can close: exactly when there are at most exactLimit distinct candidates, else
// greedily, which is within a factor H(n) = 1 + 1/2 + ... + 1/n (n: closable paths) of the
// smallest set (the set-cover bound). Candidates that close the same steps are one
// recommendation with alternatives. A candidate is assumed to close a step on its own; two
// policies that each deny only some of a step's probes are not combined.
func recommend(ctx context.Context, in *Input, m *model, evals []*stepEval, goals []goalRoot, closed []bool, causes []BypassCause) []Recommendation {
	cands := candidates(ctx, in, m, evals, causes)
	if len(cands) == 0 {
		return []Recommendation{}
	}
	var roots []int
	for _, g := range goals {
		if g.open.Sign() != 0 {
			roots = append(roots, g.idx)
		}
	}
	closedMask := m.engine.NewMask(func(i int) bool { return closed[i] })
	openWith := func(extra []int) *big.Int {
		sum := new(big.Int)
		for _, c := range m.engine.CountEachMasked(roots, closedMask, extra) {
			sum.Add(sum, c)
		}
		return sum
	}
	union := func(set []*candidate) []int {
		var u []int
		for _, c := range set {
			u = append(u, c.elements...)
		}
		return u
	}
	floor := openWith(union(cands))

	var chosen []*candidate
	exact := false
	if len(cands) <= exactLimit {
		chosen, exact = smallestCover(cands, func(set []*candidate) bool { return openWith(union(set)).Cmp(floor) == 0 }), true
	} else {
		chosen = cands
	}
	// Rank greedily within the chosen set: each next change closes the most remaining paths.
	var recs []Recommendation
	var taken []*candidate
	current := openWith(nil)
	remaining := append([]*candidate(nil), chosen...)
	for len(remaining) > 0 && current.Cmp(floor) > 0 {
		best, bestOpen := -1, (*big.Int)(nil)
		for i, c := range remaining {
			o := openWith(union(append(taken, c)))
			if best < 0 || o.Cmp(bestOpen) < 0 {
				best, bestOpen = i, o
			}
		}
		gain := new(big.Int).Sub(current, bestOpen)
		if gain.Sign() == 0 {
			break
		}
		c := remaining[best]
		recs = append(recs, Recommendation{Rank: len(recs) + 1, Action: c.action, Policy: c.policy, Change: c.change,
			Source: c.source, Location: c.location, Why: c.causes, Established: c.established,
			Alternatives: c.alternatives, Steps: c.steps, Closes: gain, Exact: exact})
		taken = append(taken, c)
		remaining = append(remaining[:best], remaining[best+1:]...)
		current = bestOpen
	}
	if recs == nil {
		recs = []Recommendation{}
	}
	return recs
}

// smallestCover returns the smallest subset of cands for which covers holds, trying subsets by
// increasing size in a fixed order.
func smallestCover(cands []*candidate, covers func([]*candidate) bool) []*candidate {
	for size := 1; size <= len(cands); size++ {
		for idx := range subsets.OfSize(len(cands), size) {
			set := make([]*candidate, size)
			for i, j := range idx {
				set[i] = cands[j]
			}
			if covers(set) {
				return set
			}
		}
	}
	return cands
}

// candidates lists the changes that could close steps that do not, merged when they close the
// same steps, sorted by action (changes threatcov re-analyses first) then by what they change.
//
// Each names the concrete change (docs/semantics.md, "Recommendations"): a monitoring policy to
// switch to enforce, a namespace to label for Pod Security, an enforcing policy to fix for the
// causes its bypasses have (bypassCauses), a policy to deploy from the public library that
// ships it, or a namespace to attest as out of tenants' reach. Switching, labelling and
// attesting are re-analysed with the change applied (simulate): the steps they close are
// those the re-analysis closes, and a change that closes none is not offered. Fixing and
// deploying are estimated: the candidate is assumed to close the steps it addresses.
func candidates(ctx context.Context, in *Input, m *model, evals []*stepEval, causes []BypassCause) []*candidate {
	open := map[string]bool{}
	for _, se := range evals {
		if !se.closes && se.step != nil && se.step.OutOfScope == "" {
			open[se.node.ID] = true
		}
	}
	byKey := map[string]*candidate{}
	add := func(c candidate, steps ...string) *candidate {
		k := c.action + "\x00" + c.change
		cur := byKey[k]
		if cur == nil {
			cur = &c
			byKey[k] = cur
		}
		for _, s := range steps {
			if open[s] && !slices.Contains(cur.steps, s) {
				cur.steps = append(cur.steps, s)
			}
		}
		return cur
	}
	for _, se := range evals {
		if open[se.node.ID] {
			stepCandidates(in, se, add)
		}
	}
	causeCandidates(in.Inventory, causes, add)
	return establish(ctx, in, m, slices.Collect(maps.Values(byKey)))
}

// adder records a candidate (merged with an equal one) as closing steps, and returns it.
type adder func(c candidate, steps ...string) *candidate

// stepCandidates are one open step's changes: deploy or label for its missing references,
// enforce for its monitoring policies.
func stepCandidates(in *Input, se *stepEval, add adder) {
	inv := in.Inventory
	for _, ref := range se.result.Missing {
		if level, ok := strings.CutPrefix(ref, "psa:"); ok && psaLevels[level] {
			// Every namespace below the level at once: one left out keeps the step open.
			var below []string
			for _, ns := range in.Namespaces {
				if psaRank(enforcedLevel(inv, ns)) < psaRank(level) {
					below = append(below, ns)
				}
			}
			if len(below) > 0 {
				add(labelCandidate(strings.Join(below, ", "), level, ref), se.node.ID)
			}
			continue
		}
		src, public := mapping.LibrarySource(ref)
		switch {
		case public:
			add(candidate{action: "deploy", policy: ref, change: fmt.Sprintf("deploy %s from %s (%s)", ref, src.Library, src.Path), source: src.URL}, se.node.ID)
		case se.step.File != mapping.DefaultFile:
			// A team's own reference (its mapping names it): its policy, not threatcov's.
			add(candidate{action: "deploy", policy: ref, change: fmt.Sprintf("deploy %s (named by %s:%d)", ref, se.step.File, se.step.Line)}, se.node.ID)
		}
	}
	for i := range se.facts.policies {
		p := &se.facts.policies[i]
		flagsAll := !p.declared && p.provesAll(se.facts.keys)
		if p.mode == policies.ModeMonitor && (flagsAll || (p.declared && p.mapped)) {
			add(enforceCandidate(inv.Policy(p.id)), se.node.ID)
		}
	}
}

// causeCandidates are the changes the bypass causes call for: label the namespaces where Pod
// Security denies the attack elsewhere (all at once, since a step bypassed in several
// namespaces closes only then), attest a namespace, raise Pod Security to restricted, fix a
// policy for the causes naming it.
func causeCandidates(inv *policies.Inventory, causes []BypassCause, add adder) {
	byLevel := map[string][]BypassCause{}
	for _, c := range causes {
		if c.Kind != CauseNamespace {
			continue
		}
		if level := enforcedPSALevel(inv, c.Policies); level != "" {
			byLevel[level] = append(byLevel[level], c)
		}
	}
	for _, level := range slices.Sorted(maps.Keys(byLevel)) {
		var nss, steps []string
		for _, c := range byLevel[level] {
			nss, steps = append(nss, c.Value), append(steps, c.Steps...)
		}
		add(labelCandidate(strings.Join(nss, ", "), level, ""), steps...)
	}
	for _, c := range causes {
		if c.Kind == CauseNamespace {
			add(candidate{action: "attest", change: fmt.Sprintf("attest that tenants cannot create workloads in namespace %s (a mapping attestation with namespace: %s, docs/mapping.md), if RBAC keeps them out", c.Value, c.Value),
				sim: &change{dropNamespace: c.Value}}, c.Steps...)
			continue
		}
		for _, id := range c.Policies {
			p := inv.Policy(id)
			if p == nil {
				continue
			}
			if p.Engine == policies.EnginePSA {
				// Pod Security cannot be fixed, only raised: restricted checks what baseline
				// lets through (seccomp, capabilities, privilege escalation, non-root).
				if ns, ok := strings.CutPrefix(p.Scope, "namespace="); ok && psaRank(enforcedLevel(inv, ns)) < psaRank("restricted") {
					add(labelCandidate(ns, "restricted", ""), c.Steps...)
				}
				continue
			}
			fc := add(candidate{action: "fix", policy: id, change: fmt.Sprintf("fix %s in %s", id, p.Source), location: p.Source.String()}, c.stepsOf[id]...)
			why := c.Text
			if c.Kind != CauseEvasion { // an evasion's text says what to recognise
				why += " (" + c.Fix + ")"
			}
			fc.causes = append(fc.causes, why)
		}
	}
}

// establish re-analyses the candidates threatcov can apply (keeping the steps the re-analysis
// closes, dropping those that close none), marks the others estimated, and merges candidates
// that close the same steps into one with alternatives, in a fixed order.
func establish(ctx context.Context, in *Input, m *model, cands []*candidate) []*candidate {
	var out []*candidate
	for _, c := range cands {
		if len(c.steps) == 0 {
			continue
		}
		if c.sim != nil && in.Live == nil {
			closed, err := simulate(ctx, in, c.sim, c.steps)
			if err != nil {
				continue // the change cannot be applied to this policy set: not offered
			}
			c.established = EstablishedSimulated
			c.steps = slices.DeleteFunc(c.steps, func(s string) bool { return !closed[s] })
			if len(c.steps) == 0 {
				continue // re-analysed: it closes nothing on its own
			}
		} else {
			c.established = EstablishedEstimated
		}
		sort.Strings(c.steps)
		out = append(out, c)
	}
	actionRank := map[string]int{"enforce": 0, "label": 1, "fix": 2, "deploy": 3, "attest": 4}
	sort.Slice(out, func(i, j int) bool {
		if out[i].action != out[j].action {
			return actionRank[out[i].action] < actionRank[out[j].action]
		}
		return out[i].change < out[j].change
	})
	// Candidates that close the same steps are one recommendation with alternatives.
	groups := map[string]*candidate{}
	var merged []*candidate
	for _, c := range out {
		sig := strings.Join(c.steps, ",")
		if g, ok := groups[sig]; ok {
			g.alternatives = append(g.alternatives, c.change)
			continue
		}
		for _, id := range c.steps {
			n, _ := in.Catalog.Node(id)
			i := int(n.GraphID())
			if a, ok := m.action[i]; ok {
				c.elements = append(c.elements, a)
			} else {
				c.elements = append(c.elements, i)
			}
		}
		groups[sig] = c
		merged = append(merged, c)
	}
	return merged
}

// Pod Security levels, weakest first.
var psaLevels = map[string]bool{"privileged": true, "baseline": true, "restricted": true}

func psaRank(level string) int {
	return map[string]int{"baseline": 1, "restricted": 2}[level]
}

// enforcedLevel is the Pod Security level enforced in namespace ns ("" when none).
func enforcedLevel(inv *policies.Inventory, ns string) string {
	for _, n := range inv.Namespaces {
		if n.Name == ns {
			return n.Labels[policies.PSAEnforceLabel]
		}
	}
	return ""
}

// labelCandidate labels namespaces (a comma-separated list) to enforce a Pod Security level.
func labelCandidate(namespaces, level, ref string) candidate {
	if ref == "" {
		ref = "psa:" + level
	}
	what, note := "namespace", ""
	if strings.Contains(namespaces, ",") {
		what = "namespaces"
	}
	if slices.Contains(strings.Split(namespaces, ", "), "kube-system") {
		note = " (system components in kube-system may need more: exempt them by name, or attest instead that tenants cannot create workloads there)"
	}
	return candidate{action: "label", policy: ref,
		change: fmt.Sprintf("label %s %s %s=%s%s", what, namespaces, policies.PSAEnforceLabel, level, note),
		sim:    &change{namespaces: strings.Split(namespaces, ", "), labels: map[string]string{policies.PSAEnforceLabel: level}}}
}

// enforceCandidate switches a monitoring policy to enforce, naming the field to change.
func enforceCandidate(p *policies.Policy) candidate {
	field := map[policies.Engine]string{
		policies.EngineGatekeeper: "spec.enforcementAction: deny",
		policies.EngineKyverno:    "validationFailureAction (or the rule's failureAction): Enforce",
		policies.EngineVAP:        "the binding's validationActions: [Deny]",
	}[p.Engine]
	if field == "" {
		field = "enforce"
	}
	c := candidate{action: "enforce", policy: p.ID, change: fmt.Sprintf("set %s on %s in %s (now %s)", field, p.ID, p.Source, p.Action),
		location: p.Source.String(), sim: &change{enforce: p.ID}}
	if p.Engine == policies.EnginePSA {
		// A Pod Security warn or audit label: the change is the enforce label.
		ns := strings.TrimPrefix(p.Scope, "namespace=")
		c = labelCandidate(ns, p.PSALevel(), "")
	}
	return c
}

// change is a change to the policy set that threatcov can apply and re-analyse.
type change struct {
	enforce       string            // a policy id to switch to enforce
	namespaces    []string          // namespaces to label with labels
	labels        map[string]string //
	dropNamespace string            // a namespace the attacker is attested not to use
}

// simulate re-evaluates the steps with the change applied and returns those that close.
// Cost: one evaluation of the policy set on those steps' probes, sharing the compiled code.
func simulate(ctx context.Context, in *Input, c *change, steps []string) (map[string]bool, error) {
	sim := *in
	sim.only = map[string]bool{}
	for _, s := range steps {
		sim.only[s] = true
	}
	// Switching a mode or dropping a namespace changes no verdict; labels change those of
	// requests in the labelled namespaces, for the policies that read labels.
	sim.reuse = &reuse{results: in.results, stale: func(j policies.Job) bool {
		return slices.Contains(c.namespaces, j.Namespace) && in.Inventory.ReadsNamespaceLabels(j.Policy)
	}}
	switch {
	case c.enforce != "":
		sim.Inventory = in.Inventory.WithMode(c.enforce, policies.ModeEnforce)
		if sim.Inventory == nil {
			return nil, fmt.Errorf("no policy %s", c.enforce)
		}
	case len(c.namespaces) > 0:
		for _, ns := range c.namespaces {
			sim.Inventory = sim.Inventory.WithNamespaceLabels(ns, c.labels)
		}
	case c.dropNamespace != "":
		sim.Namespaces = slices.DeleteFunc(slices.Clone(in.Namespaces), func(ns string) bool { return ns == c.dropNamespace })
		if len(sim.Namespaces) == 0 {
			return nil, fmt.Errorf("no namespace left")
		}
	}
	if sim.Inventory != in.Inventory {
		ev, err := in.Evaluator.ForInventory(sim.Inventory)
		if err != nil {
			return nil, err
		}
		sim.Evaluator = ev
	}
	evals, err := evaluateSteps(ctx, &sim)
	if err != nil {
		return nil, err
	}
	closed := map[string]bool{}
	for _, se := range evals {
		if se.closes {
			closed[se.node.ID] = true
		}
	}
	return closed, nil
}
