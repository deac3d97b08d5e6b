package baseline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"

	"github.com/threatcov/threatcov/analyzer"
)

// Diff is what changed from a baseline (Before) to a new result (After).
type Diff struct {
	Before analyzer.Figures `json:"before"`
	After  analyzer.Figures `json:"after"`
	// OpenedGoals were blocked in the baseline, or absent from it, and are open now.
	OpenedGoals []GoalChange `json:"openedGoals"`
	// ClosedGoals were open in the baseline and are blocked now.
	ClosedGoals []GoalChange `json:"closedGoals"`
	// RemovedGoals are in the baseline only (their tree was removed or changed).
	RemovedGoals []GoalChange `json:"removedGoals"`
	// OpenedPaths are open now and were not open in the baseline, with why.
	OpenedPaths []PathChange `json:"openedPaths"`
	// ClosedPaths were open in the baseline and are not now.
	ClosedPaths []PathChange `json:"closedPaths"`
	// Grown are goals whose exact open-path count rose: a regression even where the listed
	// paths (capped by --max-paths) cannot show which path opened.
	Grown []CountChange `json:"grown"`
	// Steps are the steps whose status changed, with the causes.
	Steps []StepChange `json:"steps"`
	// Partial names goals whose paths were cut by --max-paths in either result: for them a path
	// missing from a list is not known to be closed or new.
	Partial []string `json:"partial"`
	// TreeTitles are the titles of the trees the changes name, by tree id.
	TreeTitles map[string]string `json:"treeTitles"`
}

// Unchanged reports whether the comparison found no difference: no goal, path or step
// changed, no open count grew, and every figure is the same.
func (d *Diff) Unchanged() bool {
	if len(d.OpenedGoals)+len(d.ClosedGoals)+len(d.RemovedGoals)+len(d.OpenedPaths)+len(d.ClosedPaths)+len(d.Grown)+len(d.Steps) > 0 {
		return false
	}
	before, errB := json.Marshal(d.Before)
	after, errA := json.Marshal(d.After)
	return errB == nil && errA == nil && bytes.Equal(before, after)
}

// GoalChange is a goal whose status changed.
type GoalChange struct {
	ID     string          `json:"id"`
	Tree   string          `json:"tree"`
	Label  string          `json:"label"`
	Before analyzer.Status `json:"before,omitempty"` // "" when the goal is new
	After  analyzer.Status `json:"after,omitempty"`  // "" when the goal was removed
}

// PathChange is a path that opened or closed for one goal.
type PathChange struct {
	Goal        string   `json:"goal"`
	Tree        string   `json:"tree"`
	GoalLabel   string   `json:"goalLabel"`
	Fingerprint string   `json:"fingerprint"`
	Steps       []string `json:"steps"`
	Labels      []string `json:"labels"`
	// Why lists the causes: the changed steps of the path and what changed in their policies.
	Why []Cause `json:"why"`
}

// CountChange is a goal whose exact number of open paths changed.
type CountChange struct {
	Goal   string   `json:"goal"`
	Label  string   `json:"label"`
	Before *big.Int `json:"before"`
	After  *big.Int `json:"after"`
}

// StepChange is a step whose status changed.
type StepChange struct {
	Node           string            `json:"node"`
	Tree           string            `json:"tree"`
	Label          string            `json:"label"`
	Before         analyzer.Status   `json:"before,omitempty"`
	After          analyzer.Status   `json:"after,omitempty"`
	BeforeEvidence analyzer.Evidence `json:"beforeEvidence,omitempty"`
	AfterEvidence  analyzer.Evidence `json:"afterEvidence,omitempty"`
	Causes         []Cause           `json:"causes"`
}

// Cause kinds: what changed under a step.
const (
	CausePolicyRemoved     = "policy-removed"      // a blocking policy is no longer deployed
	CausePolicyToMonitor   = "policy-to-monitor"   // a blocking policy switched to dryrun/warn/audit
	CausePolicyAdmits      = "policy-admits"       // a blocking policy now admits a probe
	CausePolicyNoLonger    = "policy-no-longer"    // a blocking policy no longer blocks the step, otherwise
	CauseAttestationExpiry = "attestation-expired" // an attestation expired
	CauseAttestationGone   = "attestation-removed" // an attestation is no longer there
	CauseMappingChanged    = "mapping-changed"     // the mapping no longer names a policy for the step
	CauseStatusChanged     = "status-changed"      // the step's status changed (always present)
	CausePathNew           = "path-new"            // no step of the path changed: the trees or the mapping did
	CauseBaselineCut       = "baseline-cut"        // the baseline listed only some paths of the goal
	CauseStepClosed        = "step-closed"         // for closed paths: a step of the path is now closed
)

// Cause is one reason for a change, as data and as a sentence.
type Cause struct {
	Kind   string `json:"kind"`
	Step   string `json:"step,omitempty"`
	Policy string `json:"policy,omitempty"`
	// Probes are the probes (probe/variant@namespace) now admitted, for policy-admits.
	Probes []string `json:"probes,omitempty"`
	Text   string   `json:"text"`
}

type goalEntry struct {
	tree string
	g    *analyzer.GoalResult
}

func goalsOf(r *analyzer.Result) (map[string]goalEntry, []string) {
	m := map[string]goalEntry{}
	var order []string
	for ti := range r.Trees {
		for gi := range r.Trees[ti].Goals {
			g := &r.Trees[ti].Goals[gi]
			if _, dup := m[g.ID]; dup {
				continue
			}
			m[g.ID] = goalEntry{r.Trees[ti].ID, g}
			order = append(order, g.ID)
		}
	}
	return m, order
}

func stepsOf(r *analyzer.Result) map[string]*analyzer.StepResult {
	m := map[string]*analyzer.StepResult{}
	for i := range r.Steps {
		m[r.Steps[i].Node] = &r.Steps[i]
	}
	return m
}

func cut(g *analyzer.GoalResult) bool { return g != nil && g.NotShown != nil && g.NotShown.Sign() > 0 }

func openCount(g *analyzer.GoalResult) *big.Int {
	if g == nil {
		return new(big.Int)
	}
	if g.Figures.Paths.Open != nil {
		return g.Figures.Paths.Open
	}
	n := big.NewInt(int64(len(g.OpenPaths)))
	if g.NotShown != nil {
		n.Add(n, g.NotShown)
	}
	return n
}

// Compare compares a baseline with a new result. Both must be non-nil. Output order follows
// the new result's trees and goals (removed goals: the baseline's), paths shortest first.
func Compare(before, after *analyzer.Result) *Diff {
	d := &Diff{Before: before.Summary, After: after.Summary,
		OpenedGoals: []GoalChange{}, ClosedGoals: []GoalChange{}, RemovedGoals: []GoalChange{},
		OpenedPaths: []PathChange{}, ClosedPaths: []PathChange{}, Grown: []CountChange{},
		Steps: []StepChange{}, Partial: []string{}, TreeTitles: map[string]string{}}
	for _, r := range []*analyzer.Result{before, after} {
		for _, t := range r.Trees {
			d.TreeTitles[t.ID] = t.Title
		}
	}
	c := newComparison(before, after)
	d.Steps = append(d.Steps, c.stepChanges()...)
	for _, id := range c.aOrder {
		c.compareGoal(d, id)
	}
	for _, id := range c.bOrder {
		if _, ok := c.aGoals[id]; !ok {
			b := c.bGoals[id]
			d.RemovedGoals = append(d.RemovedGoals, GoalChange{ID: id, Tree: b.tree, Label: b.g.Label, Before: b.g.Status})
		}
	}
	byLen := func(ps []PathChange) {
		sort.SliceStable(ps, func(i, j int) bool { return len(ps[i].Steps) < len(ps[j].Steps) })
	}
	byLen(d.OpenedPaths)
	byLen(d.ClosedPaths)
	return d
}

// comparison is what Compare reads from both results, indexed.
type comparison struct {
	before, after  *analyzer.Result
	bGoals, aGoals map[string]goalEntry
	bOrder, aOrder []string
	bSteps, aSteps map[string]*analyzer.StepResult
	// changed are the steps whose status changed, by node, filled by stepChanges.
	changed map[string]*StepChange
}

func newComparison(before, after *analyzer.Result) *comparison {
	c := &comparison{before: before, after: after, bSteps: stepsOf(before), aSteps: stepsOf(after),
		changed: map[string]*StepChange{}}
	c.bGoals, c.bOrder = goalsOf(before)
	c.aGoals, c.aOrder = goalsOf(after)
	return c
}

// stepChanges lists the steps whose status changed or that left the analysis, by node id.
func (c *comparison) stepChanges() []StepChange {
	var out []StepChange
	for _, s := range c.after.Steps {
		b := c.bSteps[s.Node]
		if b != nil && b.Status == s.Status {
			continue
		}
		sc := stepChange(b, &s, c.after)
		c.changed[s.Node] = &sc
		out = append(out, sc)
	}
	for _, s := range c.before.Steps {
		if _, ok := c.aSteps[s.Node]; !ok {
			out = append(out, StepChange{Node: s.Node, Tree: s.Tree, Label: s.Label, Before: s.Status, BeforeEvidence: s.Evidence,
				Causes: []Cause{{Kind: CauseStatusChanged, Step: s.Node, Text: fmt.Sprintf("step %q is no longer in the analysis (trees or mapping changed)", s.Label)}}})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out
}

// label is how the diff names a path element: its step's label in the new result, else in the
// baseline, else its id.
func (c *comparison) label(id string) string {
	node := elementNode(id)
	for _, m := range []map[string]*analyzer.StepResult{c.aSteps, c.bSteps} {
		if s, ok := m[node]; ok && s.Label != "" {
			return analyzer.ElementLabel(s.Label, node != id)
		}
	}
	return id
}

func (c *comparison) closedBefore(id string) bool {
	s, ok := c.bSteps[elementNode(id)]
	return ok && s.Status.Closes()
}

func (c *comparison) closedAfter(id string) bool {
	s, ok := c.aSteps[elementNode(id)]
	return ok && s.Status.Closes()
}

// compareGoal adds what changed for one goal of the new result: its status, whether its lists
// were cut, its open-path count, and the paths that opened and closed.
func (c *comparison) compareGoal(d *Diff, id string) {
	a := c.aGoals[id]
	b, inBase := c.bGoals[id]
	var bg *analyzer.GoalResult
	if inBase {
		bg = b.g
	}
	gc := GoalChange{ID: id, Tree: a.tree, Label: a.g.Label, After: a.g.Status}
	switch {
	case !inBase && !a.g.Status.Closes():
		d.OpenedGoals = append(d.OpenedGoals, gc)
	case inBase && b.g.Status.Closes() && !a.g.Status.Closes():
		gc.Before = b.g.Status
		d.OpenedGoals = append(d.OpenedGoals, gc)
	case inBase && !b.g.Status.Closes() && a.g.Status.Closes():
		gc.Before = b.g.Status
		d.ClosedGoals = append(d.ClosedGoals, gc)
	}
	if cut(bg) || cut(a.g) {
		d.Partial = append(d.Partial, id)
	}
	if bc, ac := openCount(bg), openCount(a.g); ac.Cmp(bc) > 0 && (cut(bg) || cut(a.g)) {
		d.Grown = append(d.Grown, CountChange{Goal: id, Label: a.g.Label, Before: bc, After: ac})
	}
	opened := func(p analyzer.Path) []Cause { return c.openedWhy(p, inBase) }
	d.OpenedPaths = append(d.OpenedPaths, c.pathChanges(a, a.g, bg, c.closedBefore, opened)...)
	d.ClosedPaths = append(d.ClosedPaths, c.pathChanges(a, bg, a.g, c.closedAfter, c.closedWhy)...)
}

// pathChanges lists the open paths of from that are not open in to, for goal a: the opened
// paths when from is the new result and to the baseline, the closed ones the other way round.
// A path not listed in a capped to may be open there all the same; it counts only if one of
// its steps is closed in to (closedTo), or to listed every open path of the goal. A nil goal
// has no paths.
func (c *comparison) pathChanges(a goalEntry, from, to *analyzer.GoalResult, closedTo func(string) bool, why func(analyzer.Path) []Cause) []PathChange {
	if from == nil {
		return nil
	}
	inTo := map[string]bool{}
	if to != nil {
		for _, p := range to.OpenPaths {
			inTo[p.Key()] = true
		}
	}
	var out []PathChange
	for _, p := range from.OpenPaths {
		if inTo[p.Key()] || (cut(to) && !slices.ContainsFunc(p.Steps, closedTo)) {
			continue
		}
		pc := PathChange{Goal: a.g.ID, Tree: a.tree, GoalLabel: a.g.Label, Fingerprint: p.Key(), Steps: slices.Clone(p.Steps), Why: why(p)}
		for _, s := range p.Steps {
			pc.Labels = append(pc.Labels, c.label(s))
		}
		out = append(out, pc)
	}
	return out
}

// openedWhy is why a path opened: the causes of its steps that changed status, or that the
// trees or the mapping changed.
func (c *comparison) openedWhy(p analyzer.Path, inBase bool) []Cause {
	why := []Cause{}
	seen := map[string]bool{}
	for _, s := range p.Steps {
		node := elementNode(s)
		if sc, ok := c.changed[node]; ok && !seen[node] {
			seen[node] = true
			why = append(why, sc.Causes...)
		}
	}
	if len(why) == 0 {
		text := "no step of this path changed status: the trees or the mapping changed"
		if !inBase {
			text = "the goal is not in the baseline: a tree was added or changed"
		}
		why = append(why, Cause{Kind: CausePathNew, Text: text})
	}
	return why
}

// closedWhy is why a path closed: its steps that are closed now, or that the path is gone.
func (c *comparison) closedWhy(p analyzer.Path) []Cause {
	why := []Cause{}
	for _, s := range p.Steps {
		if c.closedAfter(s) {
			why = append(why, Cause{Kind: CauseStepClosed, Step: elementNode(s), Text: fmt.Sprintf("%q is now %s", c.label(s), c.aSteps[elementNode(s)].Status)})
		}
	}
	if len(why) == 0 {
		why = append(why, Cause{Kind: CausePathNew, Text: "the path no longer exists: the trees or the mapping changed"})
	}
	return why
}

// stepChange explains a step's status change from the step results of both analyses. b is
// nil for a step that is new in the analysis.
func stepChange(b, a *analyzer.StepResult, after *analyzer.Result) StepChange {
	sc := StepChange{Node: a.Node, Tree: a.Tree, Label: a.Label, After: a.Status, AfterEvidence: a.Evidence, Causes: []Cause{}}
	add := func(kind, policy, format string, args ...any) {
		sc.Causes = append(sc.Causes, Cause{Kind: kind, Step: a.Node, Policy: policy, Text: fmt.Sprintf(format, args...)})
	}
	if b == nil {
		add(CauseStatusChanged, "", "step %q is new in the analysis and is %s", a.Label, a.Status)
		return sc
	}
	sc.Before, sc.BeforeEvidence = b.Status, b.Evidence
	if b.Status.Closes() && !a.Status.Closes() {
		deployed := deployedPolicies(after)
		for _, p := range b.Blocking {
			if slices.Contains(a.Blocking, p) {
				continue
			}
			mode, admitted := verdictsFor(a, p)
			switch {
			case slices.Contains(a.Monitoring, p) || mode == "monitor":
				add(CausePolicyToMonitor, p, "policy %s switched from enforce to monitor (dryrun/warn/audit): it flags %q but no longer blocks it", p, a.Label)
			case len(admitted) > 0:
				add(CausePolicyAdmits, p, "policy %s no longer denies %s", p, strings.Join(admitted, ", "))
				sc.Causes[len(sc.Causes)-1].Probes = admitted
			case !deployed[p]:
				add(CausePolicyRemoved, p, "policy %s disappeared: it is no longer deployed", p)
			default:
				add(CausePolicyNoLonger, p, "policy %s no longer blocks %q", p, a.Label)
			}
		}
		if b.Attestation != nil && b.Status == analyzer.StatusAttested {
			switch {
			case a.Attestation == nil:
				add(CauseAttestationGone, "", "the attestation of control %q was removed", b.Attestation.Control)
			case a.Attestation.Expired:
				add(CauseAttestationExpiry, "", "the attestation of control %q expired on %s", a.Attestation.Control, a.Attestation.Expires.Format("2006-01-02"))
			}
		}
		for _, ref := range b.Mapped {
			if !slices.Contains(a.Mapped, ref) {
				add(CauseMappingChanged, ref, "the mapping no longer names %s for %q", ref, a.Label)
			}
		}
	}
	if a.Status == analyzer.StatusBypassed && len(a.Admitted) > 0 && !slices.ContainsFunc(sc.Causes, func(c Cause) bool { return c.Kind == CausePolicyAdmits }) {
		add(CausePolicyAdmits, "", "probes admitted: %s", strings.Join(a.Admitted, ", "))
		sc.Causes[len(sc.Causes)-1].Probes = slices.Clone(a.Admitted)
	}
	status := func(s analyzer.Status, e analyzer.Evidence) string {
		if e != "" && s == analyzer.StatusBlocked {
			return string(s) + " (" + string(e) + ")"
		}
		return string(s)
	}
	add(CauseStatusChanged, "", "%q went from %s to %s", a.Label, status(b.Status, b.Evidence), status(a.Status, a.Evidence))
	return sc
}

// deployedPolicies are the policy ids an analysis saw: any that blocked, monitored or gave a
// verdict on some step.
func deployedPolicies(r *analyzer.Result) map[string]bool {
	m := map[string]bool{}
	for _, s := range r.Steps {
		for _, p := range s.Blocking {
			m[p] = true
		}
		for _, p := range s.Monitoring {
			m[p] = true
		}
		for _, v := range s.Verdicts {
			m[v.Policy] = true
		}
	}
	return m
}

// verdictsFor gives a policy's mode on a step and the probes it admitted there.
func verdictsFor(s *analyzer.StepResult, policy string) (mode string, admitted []string) {
	for _, v := range s.Verdicts {
		if v.Policy != policy {
			continue
		}
		mode = v.Mode
		if v.Verdict == "admitted" {
			probe := v.Probe
			if v.Namespace != "" {
				probe += "@" + v.Namespace
			}
			if !slices.Contains(admitted, probe) {
				admitted = append(admitted, probe)
			}
		}
	}
	return mode, admitted
}

// elementNode is the node a path element stands for.
func elementNode(element string) string {
	node, _ := analyzer.ElementNode(element)
	return node
}
