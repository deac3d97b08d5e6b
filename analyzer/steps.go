package analyzer

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// LiveProber sends a probe to a cluster as a server-side dry-run and says whether admission
// denied it. It is how --probe-live measures admission mechanisms threatcov cannot execute.
type LiveProber interface {
	DryRun(ctx context.Context, probe probes.Probe, namespace string) LiveVerdict
}

// LiveVerdict is the cluster's answer to one dry-run.
type LiveVerdict struct {
	Denied  bool   // admission (PSA, VAP, a webhook) denied the request
	By      string // which mechanism denied, e.g. "psa", "vap", "webhook"
	Message string
	Err     string // the request failed for another reason (RBAC, missing ServiceAccount, ...)
}

// stepEval is what evaluation found for one mapped node, before paths are known.
type stepEval struct {
	step     *mapping.Step
	node     *attacktrees.Node
	result   StepResult
	closes   bool
	byPolicy map[string]map[string]bool // policy id -> probe@ns it denied
	probeKey []string                   // every probe@ns of the step, sorted
	enforced map[string]bool            // probe@ns denied by an enforcing policy (or live)
	// deployed are the policies the mapping names that are deployed at a point the step
	// crosses (relevant), resolved once per step.
	deployed []*policies.Policy
}

// evaluateSteps computes the status of every mapped node and of every unmapped leaf. It runs
// each (policy, probe, namespace) triple once, spread over the evaluator's workers.
func evaluateSteps(ctx context.Context, in *Input) ([]*stepEval, error) {
	byFamily := map[string][]probes.Probe{}
	for _, p := range in.Probes {
		byFamily[p.Family] = append(byFamily[p.Family], p)
	}

	var jobs []policies.Job
	seen := map[jobKey]bool{}
	var evals []*stepEval
	for _, n := range in.Catalog.Nodes() {
		step := in.Mapping.Step(n.ID)
		if step == nil && !in.Catalog.IsLeaf(n) {
			continue
		}
		if n.Kind == attacktrees.KindNote {
			continue
		}
		se := &stepEval{step: step, node: n, byPolicy: map[string]map[string]bool{}, enforced: map[string]bool{}}
		evals = append(evals, se)
		if step == nil {
			continue
		}
		se.deployed = relevant(in.Inventory, step)
		for _, fam := range step.Probes {
			for _, probe := range byFamily[fam] {
				for _, ns := range in.Namespaces {
					se.probeKey = append(se.probeKey, probe.Name+"@"+ns)
					for _, pol := range se.deployed {
						if !pol.Verifiable {
							continue
						}
						k := jobKey{pol.ID, probe.Name, ns}
						if !seen[k] {
							seen[k] = true
							jobs = append(jobs, policies.Job{Policy: pol, Probe: probe, Namespace: ns})
						}
					}
				}
			}
		}
		sort.Strings(se.probeKey)
	}

	results := map[jobKey]policies.Evaluation{}
	if len(jobs) > 0 {
		for i, ev := range in.Evaluator.EvaluateAll(ctx, jobs) {
			j := jobs[i]
			results[jobKey{j.Policy.ID, j.Probe.Name, j.Namespace}] = ev
		}
	}
	var live map[string]LiveVerdict
	if in.Live != nil {
		live = map[string]LiveVerdict{}
		for _, p := range in.Probes {
			for _, ns := range in.Namespaces {
				live[p.Name+"@"+ns] = in.Live.DryRun(ctx, p, ns)
			}
		}
	}

	for _, se := range evals {
		se.classify(in, results, live)
	}
	return evals, ctx.Err()
}

// jobKey names one evaluation: a policy on a probe in a namespace.
type jobKey struct{ policy, probe, ns string }

// relevant returns the deployed policies a step's mapping names at the points the step crosses.
func relevant(inv *policies.Inventory, step *mapping.Step) []*policies.Policy {
	var out []*policies.Policy
	seen := map[string]bool{}
	for _, ref := range step.Policies {
		for _, p := range inv.Resolve(ref) {
			if seen[p.ID] || !step.Crosses(p.Point) {
				continue
			}
			seen[p.ID] = true
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (se *stepEval) classify(in *Input, results map[jobKey]policies.Evaluation, live map[string]LiveVerdict) {
	n, step := se.node, se.step
	r := &se.result
	*r = StepResult{Node: n.ID, Tree: n.Tree, Label: n.Label, Ref: n.Ref, Leaf: in.Catalog.IsLeaf(n)}
	if step == nil {
		r.Status = StatusOpen
		r.Reason = "unmapped: no mapping entry names this step"
		r.Explanation = "open: the mapping names no policy, scope or attestation for this step; add a mapping entry (docs/mapping.md)"
		return
	}
	r.Points = step.Points
	r.Mapped = step.Policies
	if step.OutOfScope != "" {
		r.Status, r.Reason = StatusOutOfScope, step.OutOfScope
		r.Explanation = "out of scope: " + step.OutOfScope
		return
	}
	if a := step.Attestation; a != nil {
		r.Attestation = &Attestation{Control: a.Control, Evidence: a.Evidence, Expires: a.Expires, Expired: in.Now.After(a.Expires)}
	}

	deployed := se.deployed
	// A reference is missing when no policy it names is deployed at a point the step
	// crosses: a pipeline-only copy of an admission policy does not stop an API-server attack.
	for _, ref := range step.Policies {
		if !slices.ContainsFunc(in.Inventory.Resolve(ref), func(p *policies.Policy) bool {
			return step.Crosses(p.Point) && p.Mode != policies.ModeNone
		}) {
			r.Missing = append(r.Missing, ref)
		}
	}
	var declaredEnforce, declaredMonitor, verifiedEnforce, verifiedMonitor []string
	var inert []string
	for _, p := range deployed {
		switch {
		case p.Mode == policies.ModeNone:
			// A template without a constraint, or a VAP without a binding, acts on nothing.
			inert = append(inert, p.ID)
		case !p.Verifiable && p.Mode == policies.ModeEnforce:
			declaredEnforce = append(declaredEnforce, p.ID)
		case !p.Verifiable:
			declaredMonitor = append(declaredMonitor, p.ID)
		case p.Mode == policies.ModeEnforce:
			verifiedEnforce = append(verifiedEnforce, p.ID)
		default:
			verifiedMonitor = append(verifiedMonitor, p.ID)
		}
	}

	flagged := map[string]bool{}
	for _, key := range se.probeKey {
		probe, ns, _ := strings.Cut(key, "@")
		for _, p := range deployed {
			if !p.Verifiable || p.Mode == policies.ModeNone {
				continue
			}
			ev, ok := results[jobKey{p.ID, probe, ns}]
			if !ok {
				continue
			}
			msg := ev.Err
			if msg == "" && len(ev.Messages) > 0 {
				msg = ev.Messages[0]
			}
			r.Verdicts = append(r.Verdicts, Verdict{Probe: probe, Namespace: ns, Policy: p.ID, Point: p.Point, Mode: string(p.Mode), Verdict: string(ev.Verdict), Via: ev.Via, Message: msg})
			if ev.Verdict != policies.VerdictDenied {
				continue
			}
			if se.byPolicy[p.ID] == nil {
				se.byPolicy[p.ID] = map[string]bool{}
			}
			se.byPolicy[p.ID][key] = true
			flagged[key] = true
			if p.Mode == policies.ModeEnforce {
				se.enforced[key] = true
			}
		}
		if live != nil {
			lv := live[key]
			v := Verdict{Probe: probe, Namespace: ns, Policy: "live:" + lv.By, Point: probes.PointAdmission, Mode: string(policies.ModeEnforce), Message: lv.Message}
			switch {
			case lv.Err != "":
				v.Policy, v.Verdict, v.Message = "live", string(policies.VerdictError), lv.Err
			case lv.Denied:
				v.Verdict = string(policies.VerdictDenied)
			default:
				v.Policy, v.Verdict = "live", string(policies.VerdictAdmitted)
			}
			r.Verdicts = append(r.Verdicts, v)
		}
	}

	allEnforced := len(se.probeKey) > 0 && len(verifiedEnforce) > 0
	allFlagged := len(se.probeKey) > 0 && len(verifiedEnforce)+len(verifiedMonitor) > 0
	for _, key := range se.probeKey {
		allEnforced = allEnforced && se.enforced[key]
		allFlagged = allFlagged && flagged[key]
	}
	blockers := func() []string {
		var ids []string
		for _, id := range verifiedEnforce {
			if len(se.byPolicy[id]) > 0 {
				ids = append(ids, id)
			}
		}
		return ids
	}
	probesText := fmt.Sprintf("%d probe requests (%s in %s)", len(se.probeKey), strings.Join(step.Probes, ", "), strings.Join(in.Namespaces, ", "))
	switch {
	case live != nil && step.Crosses(probes.PointAdmission) && len(se.probeKey) > 0:
		se.classifyLive(live, probesText)
	case allEnforced:
		r.Status, r.Evidence, r.Blocking = StatusBlocked, EvidenceVerified, blockers()
		r.Explanation = fmt.Sprintf("blocked (verified): every one of %s was denied by an enforcing policy: %s", probesText, strings.Join(r.Blocking, ", "))
	case len(declaredEnforce) > 0:
		r.Status, r.Evidence, r.Blocking = StatusBlocked, EvidenceDeclared, declaredEnforce
		r.Explanation = fmt.Sprintf("blocked (declared): %s is deployed and enforcing but cannot be executed here; its coverage is taken from the inventory, not proven", strings.Join(declaredEnforce, ", "))
	case r.Attestation != nil && !r.Attestation.Expired:
		r.Status = StatusAttested
		r.Explanation = fmt.Sprintf("attested: %s (evidence: %s, expires %s)", r.Attestation.Control, r.Attestation.Evidence, r.Attestation.Expires.Format(time.DateOnly))
	case len(verifiedEnforce) > 0:
		r.Status, r.Blocking = StatusBypassed, blockers()
		for _, key := range se.probeKey {
			if !se.enforced[key] {
				r.Admitted = append(r.Admitted, key)
			}
		}
		r.Explanation = fmt.Sprintf("bypassed: %s is deployed and enforcing, yet %d of %s were admitted: %s", strings.Join(verifiedEnforce, ", "), len(r.Admitted), probesText, strings.Join(r.Admitted, ", "))
	case allFlagged:
		r.Status, r.Monitoring = StatusMonitored, verifiedMonitor
		r.Explanation = fmt.Sprintf("monitored: every one of %s was flagged by %s, which does not enforce (dry-run, warn or audit)", probesText, strings.Join(verifiedMonitor, ", "))
	case len(declaredMonitor) > 0:
		r.Status, r.Evidence, r.Monitoring = StatusMonitored, EvidenceDeclared, declaredMonitor
		r.Explanation = fmt.Sprintf("monitored (declared): %s is deployed in audit/warn mode and cannot be executed here", strings.Join(declaredMonitor, ", "))
	default:
		r.Status = StatusOpen
		r.Explanation = openExplanation(in.Inventory, step, deployed, verifiedMonitor)
	}
	if r.Attestation != nil && r.Attestation.Expired && r.Status != StatusBlocked {
		r.Explanation += fmt.Sprintf("; the attestation %q expired on %s", r.Attestation.Control, r.Attestation.Expires.Format(time.DateOnly))
	}
	if len(inert) > 0 {
		r.Explanation += "; deployed but acting on nothing (no constraint or binding): " + strings.Join(inert, ", ")
	}
	se.closes = r.Status.Closes()
	for _, v := range r.Verdicts {
		if v.Verdict == string(policies.VerdictError) {
			r.Explanation += fmt.Sprintf("; policy %s failed on %s: %s", v.Policy, v.Probe, v.Message)
			break
		}
	}
}

func (se *stepEval) classifyLive(live map[string]LiveVerdict, probesText string) {
	r := &se.result
	var admitted, failed []string
	by := map[string]bool{}
	for _, key := range se.probeKey {
		lv := live[key]
		switch {
		case lv.Err != "":
			failed = append(failed, key+": "+lv.Err)
		case lv.Denied:
			by["live:"+lv.By] = true
		default:
			admitted = append(admitted, key)
		}
	}
	switch {
	case len(admitted) == 0 && len(failed) == 0:
		r.Status, r.Evidence = StatusBlocked, EvidenceLive
		for b := range by {
			r.Blocking = append(r.Blocking, b)
		}
		sort.Strings(r.Blocking)
		r.Explanation = fmt.Sprintf("blocked (live): the cluster's admission denied every one of %s as a server-side dry-run", probesText)
	case len(admitted) > 0:
		r.Status, r.Admitted = StatusBypassed, admitted
		r.Explanation = fmt.Sprintf("bypassed (live): the cluster admitted %d of %s as a server-side dry-run: %s; policy claims are not trusted for this step", len(admitted), probesText, strings.Join(admitted, ", "))
	default:
		r.Status = StatusOpen
		r.Explanation = "open: live dry-runs failed for reasons other than admission: " + strings.Join(failed, "; ")
	}
}

func openExplanation(inv *policies.Inventory, step *mapping.Step, deployed []*policies.Policy, monitors []string) string {
	var parts []string
	switch {
	case len(step.Policies) == 0 && step.Attestable != "":
		parts = append(parts, "open: no admission policy can address this step ("+step.Attestable+"); attest the control that covers it")
	case len(deployed) == 0:
		parts = append(parts, "open: none of the mapped policies is deployed at a point the step crosses ("+joinPoints(step.Points)+"): "+strings.Join(step.Policies, ", "))
	default:
		parts = append(parts, "open: deployed policies do not flag every probe")
	}
	if len(monitors) > 0 {
		parts = append(parts, "monitoring policies "+strings.Join(monitors, ", ")+" flag only some probes")
	}
	var elsewhere []string
	for _, ref := range step.Policies {
		for _, p := range inv.Resolve(ref) {
			if !step.Crosses(p.Point) && !slices.Contains(elsewhere, p.ID) {
				elsewhere = append(elsewhere, p.ID)
			}
		}
	}
	if len(elsewhere) > 0 {
		parts = append(parts, "deployed only at a point the step does not cross: "+strings.Join(elsewhere, ", "))
	}
	return strings.Join(parts, "; ")
}

func joinPoints(ps []probes.Point) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}
