package analyzer

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// decide turns the facts collected for one step into its status and explanation
// (docs/semantics.md, "Statuses of a step"): a pure function of the node, its mapping entry, the
// facts, the day and the namespaces tried.
//
//   - blocked (verified): every request is denied by some enforcing policy that admits the
//     request's benign twin; the blocking policies need not be the mapped ones (discovery).
//   - blocked (declared): a mapped, enforcing policy threatcov cannot execute whose match,
//     kinds and namespaces take in every request.
//   - attested: an unexpired attestation.
//   - bypassed: an enforcing policy addresses the step (it is mapped, or it denies some of
//     its requests), yet some request is admitted: Admitted names each one.
//   - monitored: every request is flagged, by monitoring policies at least.
//   - open: none of these.
func decide(now time.Time, namespaces []string, n *attacktrees.Node, step *mapping.Step, leaf bool, f *stepFacts) StepResult {
	r := StepResult{Node: n.ID, Tree: n.Tree, Label: n.Label, Ref: n.Ref, Leaf: leaf}
	if step == nil {
		r.Status, r.OpenKind = StatusOpen, OpenUncovered
		r.Reason = "unmapped: no mapping entry names this step"
		r.Explanation = "open: the mapping names no policy, scope or attestation for this step; add a mapping entry (docs/mapping.md)"
		return r
	}
	r.Points = step.Points
	r.Mapped = step.Policies
	r.Attack, r.ThreatMatrix = step.Attack, step.ThreatMatrix
	if step.OutOfScope != "" {
		r.Status, r.Reason = StatusOutOfScope, step.OutOfScope
		r.Explanation = "out of scope: " + step.OutOfScope
		return r
	}
	if a := step.Attestation; a != nil {
		r.Attestation = &Attestation{Control: a.Control, Evidence: a.Evidence, Expires: a.Expires, Expired: now.After(a.Expires)}
	}
	r.Missing = f.missing
	r.Verdicts = f.verdicts

	keys := f.keys
	ro := f.roles()
	r.OverBroad = ro.overBroad
	probesText := fmt.Sprintf("%d probe requests (%s in %s)", len(keys), strings.Join(step.Probes, ", "), strings.Join(namespaces, ", "))
	switch {
	case f.live != nil:
		decideLive(&r, keys, f.live, probesText)
	case f.all(f.enforced):
		r.Status, r.Evidence, r.Blocking = StatusBlocked, EvidenceVerified, ro.blockers
		r.Explanation = fmt.Sprintf("blocked (verified): every one of %s was denied by an enforcing policy that admits the benign twin: %s", probesText, strings.Join(ro.blockers, ", "))
	case len(ro.declaredEnforce) > 0:
		r.Status, r.Evidence, r.Blocking = StatusBlocked, EvidenceDeclared, ro.declaredEnforce
		r.Explanation = fmt.Sprintf("blocked (declared): %s is deployed and enforcing and its match takes in every probe request, but threatcov cannot execute it; its coverage is not proven", strings.Join(ro.declaredEnforce, ", "))
	case r.Attestation != nil && !r.Attestation.Expired:
		r.Status = StatusAttested
		r.Explanation = fmt.Sprintf("attested: %s (evidence: %s, expires %s)", r.Attestation.Control, r.Attestation.Evidence, r.Attestation.Expires.Format(time.DateOnly))
	case len(ro.addressing) > 0:
		r.Status, r.Blocking = StatusBypassed, ro.blockers
		for _, k := range keys {
			if !f.enforced(k) {
				r.Admitted = append(r.Admitted, k.String())
			}
		}
		r.Explanation = fmt.Sprintf("bypassed: %s addresses this step, yet %d of %s got through: %s", strings.Join(ro.addressing, ", "), len(r.Admitted), probesText, strings.Join(r.Admitted, ", "))
	case f.all(f.flagged):
		r.Status, r.Monitoring = StatusMonitored, ro.monitors
		r.Explanation = fmt.Sprintf("monitored: every one of %s was flagged by %s, which does not enforce (dry-run, warn or audit)", probesText, strings.Join(ro.monitors, ", "))
	case len(ro.declaredMonitor) > 0:
		r.Status, r.Evidence, r.Monitoring = StatusMonitored, EvidenceDeclared, ro.declaredMonitor
		r.Explanation = fmt.Sprintf("monitored (declared): %s is deployed in audit/warn mode, takes in every probe request and cannot be executed here", strings.Join(ro.declaredMonitor, ", "))
	default:
		r.Status = StatusOpen
		r.Explanation = openExplanation(step, f, ro.monitors)
	}
	if r.Status == StatusOpen {
		r.OpenKind = OpenUncovered
		if len(step.Policies) == 0 && step.Attestable != "" {
			r.OpenKind = OpenAttestation
		}
	}
	r.Discovered, r.MappedNotBlocking = expectation(&r, f, keys)
	r.Explanation += explanationNotes(&r, f)
	return r
}

// roles sorts the considered policies by what they did on the step's requests.
type roles struct {
	blockers        []string // enforcing, executed, denied some request with proof
	monitors        []string // monitoring, executed, flagged some request with proof
	addressing      []string // enforcing and mapped, or denying some request with proof
	declaredEnforce []string // declared, mapped, enforcing, scope takes in every request
	declaredMonitor []string // the same, monitoring
	overBroad       []string // denied some request along with its benign twin
}

func (f *stepFacts) roles() roles {
	var ro roles
	for i := range f.policies {
		p := &f.policies[i]
		if p.declared && p.mapped && p.covers(f.keys) {
			if p.mode == policies.ModeEnforce {
				ro.declaredEnforce = append(ro.declaredEnforce, p.id)
			} else {
				ro.declaredMonitor = append(ro.declaredMonitor, p.id)
			}
		}
		if len(p.overBroad) > 0 {
			ro.overBroad = append(ro.overBroad, p.id)
		}
		proves := !p.declared && len(p.proof) > 0
		switch {
		case p.mode != policies.ModeEnforce:
			if proves {
				ro.monitors = append(ro.monitors, p.id)
			}
		case proves:
			ro.blockers = append(ro.blockers, p.id)
			ro.addressing = append(ro.addressing, p.id)
		case p.mapped:
			ro.addressing = append(ro.addressing, p.id)
		}
	}
	return ro
}

// enforced reports whether an enforcing, executed policy denied k with proof.
func (f *stepFacts) enforced(k probeKey) bool {
	for i := range f.policies {
		if p := &f.policies[i]; !p.declared && p.mode == policies.ModeEnforce && p.proof[k] {
			return true
		}
	}
	return false
}

// flagged reports whether any executed policy denied k with proof.
func (f *stepFacts) flagged(k probeKey) bool {
	for i := range f.policies {
		if p := &f.policies[i]; !p.declared && p.proof[k] {
			return true
		}
	}
	return false
}

// all reports whether pred holds for every request; never for a step without requests.
func (f *stepFacts) all(pred func(probeKey) bool) bool {
	if len(f.keys) == 0 {
		return false
	}
	for _, k := range f.keys {
		if !pred(k) {
			return false
		}
	}
	return true
}

// expectation compares the mapping's expectation with what execution found: the blocking
// policies the mapping does not name, and the mapped policies that do not deny every request.
func expectation(r *StepResult, f *stepFacts, keys []probeKey) (discovered, notBlocking []string) {
	for i := range f.policies {
		p := &f.policies[i]
		proves := !p.declared && p.mode == policies.ModeEnforce && p.provesAll(keys)
		switch {
		case proves && !p.mapped:
			discovered = append(discovered, p.id)
		case p.mapped && !proves && !(r.Evidence == EvidenceDeclared && p.declared):
			notBlocking = append(notBlocking, p.id)
		}
	}
	return discovered, notBlocking
}

// explanationNotes are the remarks every status carries: an expired attestation, policies
// acting on nothing, over-broad policies, and the first evaluation error.
func explanationNotes(r *StepResult, f *stepFacts) string {
	var b strings.Builder
	if r.Attestation != nil && r.Attestation.Expired && r.Status != StatusBlocked {
		fmt.Fprintf(&b, "; the attestation %q expired on %s", r.Attestation.Control, r.Attestation.Expires.Format(time.DateOnly))
	}
	if len(f.inert) > 0 {
		b.WriteString("; deployed but acting on nothing (no constraint or binding): " + strings.Join(f.inert, ", "))
	}
	if len(r.OverBroad) > 0 {
		b.WriteString("; over-broad, so their denials prove nothing: " + strings.Join(r.OverBroad, ", ") + " also deny the benign twin (the same workload without the attack): set a base workload that passes them (--probes with a base.yaml) or narrow them")
	}
	if len(r.Discovered) > 0 {
		b.WriteString("; blocking but not in the mapping: " + strings.Join(r.Discovered, ", ") + " ('threatcov mapping suggest' writes them)")
	}
	if len(r.MappedNotBlocking) > 0 && r.Status != StatusBypassed {
		b.WriteString("; mapped but not denying every probe: " + strings.Join(r.MappedNotBlocking, ", "))
	}
	for _, v := range r.Verdicts {
		if v.Verdict == string(policies.VerdictError) {
			fmt.Fprintf(&b, "; policy %s failed on %s: %s", v.Policy, v.Probe, v.Message)
			break
		}
	}
	return b.String()
}

func decideLive(r *StepResult, keys []probeKey, live map[probeKey]LiveVerdict, probesText string) {
	var admitted, failed []string
	by := map[string]bool{}
	for _, k := range keys {
		lv := live[k]
		switch {
		case lv.Err != "":
			failed = append(failed, k.String()+": "+lv.Err)
		case lv.Denied:
			by["live:"+lv.By] = true
		default:
			admitted = append(admitted, k.String())
		}
		v := Verdict{Probe: k.probe, Namespace: k.ns, Policy: "live:" + lv.By, Point: probes.PointAdmission, Mode: string(policies.ModeEnforce), Message: lv.Message}
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

func openExplanation(step *mapping.Step, f *stepFacts, monitors []string) string {
	var parts []string
	mappedDeployed := false
	for i := range f.policies {
		mappedDeployed = mappedDeployed || f.policies[i].mapped
	}
	switch {
	case len(step.Policies) == 0 && step.Attestable != "":
		parts = append(parts, "open: no admission policy can address this step ("+step.Attestable+"); attest the control that covers it")
	case !mappedDeployed:
		parts = append(parts, "open: none of the mapped policies is deployed at a point the step crosses ("+joinPoints(step.Points)+"): "+strings.Join(step.Policies, ", "))
	default:
		parts = append(parts, "open: deployed policies do not flag every probe")
	}
	if len(monitors) > 0 {
		parts = append(parts, "monitoring policies "+strings.Join(monitors, ", ")+" flag only some probes")
	}
	if len(f.elsewhere) > 0 {
		parts = append(parts, "deployed only at a point the step does not cross: "+strings.Join(f.elsewhere, ", "))
	}
	return strings.Join(parts, "; ")
}
