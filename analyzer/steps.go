package analyzer

import (
	"context"
	"sort"
	"strings"

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

// stepEval is what evaluation found for one mapped node or unmapped leaf, before paths are
// known: the facts collected by execution, and the decision taken on them.
type stepEval struct {
	step   *mapping.Step
	node   *attacktrees.Node
	facts  stepFacts
	result StepResult
	closes bool
}

// evaluateSteps computes the status of every mapped node and of every unmapped leaf. Every
// deployed policy is executed on every probe of every step it could act on (discovery: a
// policy the mapping does not name still counts when it denies the attack), and on each
// probe's benign twin; each (policy, probe, namespace) triple runs once, spread over the
// evaluator's workers. A twin's verdict is read only where its probe was denied
// (stepFacts.collect), so twins run after the probes, only there.
func evaluateSteps(ctx context.Context, in *Input) ([]*stepEval, error) {
	evals, jobs := plan(in)
	results := make(map[jobKey]policies.Evaluation, len(jobs))
	run := func(jobs []policies.Job) {
		// A re-analysis reuses the verdicts its change cannot alter.
		if in.reuse != nil {
			var todo []policies.Job
			for _, j := range jobs {
				k := jobKey{j.Policy.ID, j.Probe.Name, j.Namespace}
				if ev, ok := in.reuse.results[k]; ok && !in.reuse.stale(j) {
					results[k] = ev
				} else {
					todo = append(todo, j)
				}
			}
			jobs = todo
		}
		if len(jobs) == 0 {
			return
		}
		for i, ev := range in.Evaluator.EvaluateAll(ctx, jobs) {
			j := jobs[i]
			results[jobKey{j.Policy.ID, j.Probe.Name, j.Namespace}] = ev
		}
	}
	run(jobs)
	run(twinJobs(jobs, results))
	in.results = results
	live := liveVerdicts(ctx, in)
	twinOf := map[string]*probes.Probe{}
	for _, p := range in.Probes {
		twinOf[p.Name] = p.Twin
	}
	for _, se := range evals {
		if se.step != nil && se.step.OutOfScope == "" {
			se.facts.collect(in, se.step, results, twinOf)
			if live != nil && se.step.Crosses(probes.PointAdmission) && len(se.facts.keys) > 0 {
				se.facts.live = map[probeKey]LiveVerdict{}
				for _, k := range se.facts.keys {
					se.facts.live[k] = live[k]
				}
			}
		}
		se.result = decide(in.Now, in.Namespaces, se.node, se.step, in.Catalog.IsLeaf(se.node), &se.facts)
		se.closes = se.result.Status.Closes()
	}
	return evals, ctx.Err()
}

// plan lists the steps to decide and the evaluations of their probes they need, each
// (policy, probe, namespace) once; twinJobs adds the twins' afterwards.
func plan(in *Input) ([]*stepEval, []policies.Job) {
	byFamily := map[string][]probes.Probe{}
	for _, p := range in.Probes {
		byFamily[p.Family] = append(byFamily[p.Family], p)
	}
	var evals []*stepEval
	var jobs []policies.Job
	seen := map[jobKey]bool{}
	add := func(pol *policies.Policy, probe probes.Probe, ns string) {
		k := jobKey{pol.ID, probe.Name, ns}
		if !seen[k] {
			seen[k] = true
			jobs = append(jobs, policies.Job{Policy: pol, Probe: probe, Namespace: ns})
		}
	}
	for _, n := range in.Catalog.Nodes() {
		step := in.Mapping.Step(n.ID)
		if (step == nil && !in.Catalog.IsLeaf(n)) || n.Kind == attacktrees.KindNote || (in.only != nil && !in.only[n.ID]) {
			continue
		}
		se := &stepEval{step: step, node: n}
		evals = append(evals, se)
		if step == nil || step.OutOfScope != "" {
			continue
		}
		se.facts.candidates = considered(in.Inventory, step)
		for _, fam := range step.Probes {
			for _, probe := range byFamily[fam] {
				for _, ns := range in.Namespaces {
					se.facts.keys = append(se.facts.keys, probeKey{probe.Name, ns})
					for _, c := range se.facts.candidates {
						add(c.policy, probe, ns)
					}
				}
			}
		}
		sortKeys(se.facts.keys)
	}
	return evals, jobs
}

// twinJobs lists the evaluations of benign twins that facts need: a policy on the twin of a
// probe it denied, in that namespace, each once and none already in results (a twin can be a
// step's probe too). A policy that admits a probe is never asked about its twin.
func twinJobs(jobs []policies.Job, results map[jobKey]policies.Evaluation) []policies.Job {
	var out []policies.Job
	seen := map[jobKey]bool{}
	for _, j := range jobs {
		twin := j.Probe.Twin
		if twin == nil || results[jobKey{j.Policy.ID, j.Probe.Name, j.Namespace}].Verdict != policies.VerdictDenied {
			continue
		}
		k := jobKey{j.Policy.ID, twin.Name, j.Namespace}
		if _, done := results[k]; done || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, policies.Job{Policy: j.Policy, Probe: *twin, Namespace: j.Namespace})
	}
	return out
}

// liveVerdicts sends every probe into every namespace of a live cluster (nil without one).
func liveVerdicts(ctx context.Context, in *Input) map[probeKey]LiveVerdict {
	if in.Live == nil {
		return nil
	}
	live := map[probeKey]LiveVerdict{}
	for _, p := range in.Probes {
		for _, ns := range in.Namespaces {
			live[probeKey{p.Name, ns}] = in.Live.DryRun(ctx, p, ns)
		}
	}
	return live
}

// jobKey names one evaluation: a policy on a probe in a namespace.
type jobKey struct{ policy, probe, ns string }

// stepPolicy is a deployed policy considered for a step, and whether the mapping names it.
type stepPolicy struct {
	policy *policies.Policy
	mapped bool
}

// considered returns the deployed policies that could act on a step: every policy at a point
// the step crosses that is executable, and the declared (not executable) ones the mapping
// names. A declared policy is never credited from discovery: nothing shows it denies the
// attack.
func considered(inv *policies.Inventory, step *mapping.Step) []stepPolicy {
	var out []stepPolicy
	for _, p := range inv.Policies {
		if !step.Crosses(p.Point) || p.Mode == policies.ModeNone {
			continue
		}
		if mapped := mappedTo(inv, step, p); p.Verifiable || mapped {
			out = append(out, stepPolicy{p, mapped})
		}
	}
	return out
}

// mappedTo reports whether the step's mapping names p.
func mappedTo(inv *policies.Inventory, step *mapping.Step, p *policies.Policy) bool {
	for _, ref := range step.Policies {
		for _, q := range inv.Resolve(ref) {
			if q == p {
				return true
			}
		}
	}
	return false
}

func sortKeys(keys []probeKey) {
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
}

// probeKey is one probe request: a probe placed in a namespace.
type probeKey struct{ probe, ns string }

func (k probeKey) String() string { return k.probe + "@" + k.ns }

func joinPoints(ps []probes.Point) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}
