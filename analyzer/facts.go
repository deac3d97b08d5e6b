package analyzer

import (
	"slices"
	"sort"

	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// stepFacts is what execution found for one step: everything decide needs, so that the
// decision is a pure function a table test drives without OPA.
type stepFacts struct {
	keys       []probeKey    // every probe request of the step, sorted
	candidates []stepPolicy  // the policies planned for the step (considered)
	policies   []policyFacts // the policies considered for the step, sorted by id
	live       map[probeKey]LiveVerdict
	// missing are the mapping's references with no policy deployed at a point the step
	// crosses; inert the mapped policies that act on nothing (a template without a
	// constraint); elsewhere the mapped policies deployed only at a point the step does
	// not cross.
	missing, inert, elsewhere []string
	verdicts                  []Verdict // what the report shows
}

// policyFacts is one policy's record on a step's probes.
type policyFacts struct {
	id       string
	mode     policies.Mode
	declared bool // not executable: judged from its match and kinds only
	mapped   bool // the mapping names it for the step
	// proof are the requests it denied while admitting their benign twin (or that have no
	// twin): denials that show it recognises the attack. overBroad are the requests it
	// denied along with their twin: it rejects the harmless workload too, so those denials
	// prove nothing (docs/semantics.md, "Statuses of a step").
	proof, overBroad map[probeKey]bool
	// outOfScope are the requests its match, kinds or namespaces exclude (declared
	// policies: the static reading).
	outOfScope map[probeKey]bool
	errors     map[probeKey]string
}

func (p *policyFacts) provesAll(keys []probeKey) bool {
	if len(keys) == 0 {
		return false
	}
	for _, k := range keys {
		if !p.proof[k] {
			return false
		}
	}
	return true
}

// covers reports, for a declared policy, whether its static scope takes in every request.
func (p *policyFacts) covers(keys []probeKey) bool {
	return len(keys) > 0 && len(p.outOfScope) == 0
}

// collect reads the evaluations of the step's requests and their twins into facts.
func (f *stepFacts) collect(in *Input, step *mapping.Step, results map[jobKey]policies.Evaluation, twinOf map[string]*probes.Probe) {
	for _, ref := range step.Policies {
		deployed := in.Inventory.Resolve(ref)
		if !slices.ContainsFunc(deployed, func(p *policies.Policy) bool { return step.Crosses(p.Point) && p.Mode != policies.ModeNone }) {
			f.missing = append(f.missing, ref)
		}
		for _, p := range deployed {
			switch {
			case !step.Crosses(p.Point):
				f.elsewhere = appendUnique(f.elsewhere, p.ID)
			case p.Mode == policies.ModeNone:
				f.inert = appendUnique(f.inert, p.ID)
			}
		}
	}
	for _, c := range f.candidates {
		pol, mapped := c.policy, c.mapped
		if !mapped && !deniesAny(pol.ID, f.keys, results) {
			continue // neither named nor denying: the report does not show it (below)
		}
		pf := policyFacts{id: pol.ID, mode: pol.Mode, declared: !pol.Verifiable, mapped: mapped,
			proof: map[probeKey]bool{}, overBroad: map[probeKey]bool{}, outOfScope: map[probeKey]bool{}, errors: map[probeKey]string{}}
		var verdicts []Verdict
		for _, k := range f.keys {
			ev, ok := results[jobKey{pol.ID, k.probe, k.ns}]
			if !ok {
				continue
			}
			v := Verdict{Probe: k.probe, Namespace: k.ns, Policy: pol.ID, Point: pol.Point, Mode: string(pol.Mode), Verdict: string(ev.Verdict), Via: ev.Via}
			if len(ev.Messages) > 0 {
				v.Message = ev.Messages[0]
			}
			switch ev.Verdict {
			case policies.VerdictDenied:
				twin := twinOf[k.probe]
				if twin == nil {
					pf.proof[k] = true
					break
				}
				// A policy that fails on the twin admits it, as a webhook failing open does. A
				// twin never evaluated proves nothing either way: the denial is not counted.
				tv, judged := results[jobKey{pol.ID, twin.Name, k.ns}]
				v.Twin = string(tv.Verdict)
				switch {
				case !judged:
				case tv.Verdict == policies.VerdictDenied:
					pf.overBroad[k] = true
				default:
					pf.proof[k] = true
				}
			case policies.VerdictNotApplicable:
				pf.outOfScope[k] = true
			case policies.VerdictError:
				if pf.declared {
					break // declared only: Err says so for every request
				}
				pf.errors[k] = ev.Err
				v.Message = ev.Err
			}
			verdicts = append(verdicts, v)
		}
		// The report shows the policies the mapping names and those that denied something.
		if pf.mapped || len(pf.proof)+len(pf.overBroad) > 0 {
			f.verdicts = append(f.verdicts, verdicts...)
			f.policies = append(f.policies, pf)
		}
	}
	sort.Slice(f.policies, func(i, j int) bool { return f.policies[i].id < f.policies[j].id })
}

// deniesAny reports whether the policy denied any of the requests. Every policy runs on every
// probe, and most deny none of a step's: deciding that first spares building their verdicts.
func deniesAny(policy string, keys []probeKey, results map[jobKey]policies.Evaluation) bool {
	for _, k := range keys {
		if results[jobKey{policy, k.probe, k.ns}].Verdict == policies.VerdictDenied {
			return true
		}
	}
	return false
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
