package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/threatcov/threatcov/probes"
)

// Verdict is what a policy's logic says about one request, independent of its Mode.
type Verdict string

const (
	VerdictDenied   Verdict = "denied"
	VerdictAdmitted Verdict = "admitted"
	// VerdictNotApplicable: the policy's match or scope excludes the request.
	VerdictNotApplicable Verdict = "not-applicable"
	// VerdictError: the policy failed to compile or evaluate, timed out, or is not executable.
	VerdictError Verdict = "error"
)

// Via values: which request decided a verdict.
const (
	ViaObject = "object" // the probe's own manifest
	ViaPod    = "pod"    // the Pod a workload's controller would create (admission only)
	// ViaExpansion: Gatekeeper's expansion of the workload into its Pod, reviewed as part of
	// the workload's own request (ExpansionTemplates deployed).
	ViaExpansion = "expansion"
)

// Evaluation is the outcome of one policy on one probe in one namespace.
type Evaluation struct {
	Policy    string   `json:"policy"`
	Probe     string   `json:"probe"`
	Namespace string   `json:"namespace"`
	Verdict   Verdict  `json:"verdict"`
	Via       string   `json:"via,omitempty"`
	Messages  []string `json:"messages,omitempty"`
	Err       string   `json:"error,omitempty"`
}

// Job is one evaluation to run.
type Job struct {
	Policy    *Policy
	Probe     probes.Probe
	Namespace string
}

// DefaultTimeout bounds one Evaluate call (the object and, for workloads, its Pod).
const DefaultTimeout = 2 * time.Second

// DefaultNamespace is where a probe goes when the caller names no namespace.
const DefaultNamespace = "default"

// Evaluate runs one policy on one probe placed in namespace ("" means DefaultNamespace; a
// probe whose object names its own namespace stays there, and Evaluation.Namespace says so).
// At admission a workload is also judged as the Pod its controller would create and is denied
// if either is; at the pipeline the manifest alone is judged. It never panics and never
// returns without a verdict.
func (e *Evaluator) Evaluate(ctx context.Context, p *Policy, probe probes.Probe, namespace string) (ev Evaluation) {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	// A probe that names its own namespace (an attack on kube-system, say) is judged there.
	if own := str(probe.Object, "metadata", "namespace"); own != "" && !probes.ClusterScoped(str(probe.Object, "kind")) {
		namespace = own
	}
	ev = Evaluation{Policy: p.ID, Probe: probe.Name, Namespace: namespace}
	defer func() {
		if r := recover(); r != nil {
			ev.Verdict, ev.Via, ev.Messages = VerdictError, "", nil
			ev.Err = fmt.Sprintf("%s: policy %s crashed the evaluator: %v", p.Source, p.ID, r)
		}
	}()
	if (!p.Verifiable || p.exec == nil) && p.kyverno == nil {
		ev.Verdict = VerdictError
		ev.Err = fmt.Sprintf("%s: %s policy %s is declared only: threatcov does not execute it", p.Source, p.Engine, p.ID)
		return ev
	}
	in := e.input(probe, namespace)
	if in.err != nil {
		ev.Verdict, ev.Err = VerdictError, in.err.Error()
		return ev
	}
	if p.kyverno != nil {
		if e.kyv != nil {
			return e.evalKyverno(ctx, p, probe, in, ev)
		}
		return e.kyvernoCovers(p, probe, in, ev)
	}
	var out Evaluation
	stopped := e.mem.run(ctx, func(ctx context.Context) error {
		ec := &engineCtx{parent: ctx, deadline: time.Now().Add(e.timeout)}
		defer ec.stop()
		out = e.judge(ec, p, probe, in, ev)
		return nil
	})
	if stopped {
		ev.Verdict = VerdictError
		ev.Err = fmt.Sprintf("%s: policy %s exceeded the %d MiB memory limit (it builds huge values); fix or remove it", p.Source, p.ID, e.mem.limit>>20)
		return ev
	}
	return out
}

// engineCtx is the context of one Evaluate call's engine runs: one deadline for all of them,
// its timer started only when an engine runs (most calls end at a match, an exemption or a
// result shared between namespaces).
type engineCtx struct {
	parent   context.Context
	deadline time.Time
	ctx      context.Context
	cancel   context.CancelFunc
}

func (c *engineCtx) get() context.Context {
	if c.ctx == nil {
		c.ctx, c.cancel = context.WithDeadline(c.parent, c.deadline)
	}
	return c.ctx
}

func (c *engineCtx) stop() {
	if c.cancel != nil {
		c.cancel()
	}
}

// judge runs the policy on the prepared input within ec's time limit.
func (e *Evaluator) judge(ec *engineCtx, p *Policy, probe probes.Probe, in *probeInput, ev Evaluation) Evaluation {
	namespace := ev.Namespace
	if p.exec.psaNamespace != "" {
		// A namespace's Pod Security level governs only pods created in it.
		if p.exec.psaNamespace != namespace {
			ev.Verdict = VerdictNotApplicable
			return ev
		}
		r := e.evalPSA(p, probe, in)
		ev.Verdict, ev.Messages, ev.Err = r.verdict, r.messages, r.err
		if r.verdict == VerdictDenied {
			ev.Via = ViaObject
			if in.pod != nil {
				ev.Via = ViaPod
			}
		}
		return ev
	}
	eval := func(which requestKind) result {
		if p.exec.cel != nil {
			return e.evalCEL(ec.get(), p, probe, in, which)
		}
		return e.evalRego(ec, p, in, which)
	}
	obj := eval(reqObject)
	if p.Point != probes.PointAdmission || in.pod == nil {
		ev.Verdict, ev.Messages, ev.Err = obj.verdict, obj.messages, obj.err
		if obj.verdict == VerdictDenied {
			ev.Via = ViaObject
		}
		return ev
	}
	// The workload is denied if its own request is (Gatekeeper's expansion reviews the Pod
	// it will create as part of that request), or else if the Pod its controller creates is:
	// either way no Pod runs. Judged in that order; the first denial decides.
	results := []result{obj}
	vias := []string{ViaObject}
	if in.expanded != nil && p.Engine == EngineGatekeeper {
		results, vias = append(results, eval(reqExpanded)), append(vias, ViaExpansion)
	}
	results, vias = append(results, eval(reqPod)), append(vias, ViaPod)
	return combine(ev, results, vias)
}

// gatekeeperSkips applies what decides, before a constraint's code runs, that Gatekeeper does
// not judge the request: the webhook's namespace exemptions and the constraint's match. ok
// says the request is skipped, with the result to return.
func (e *Evaluator) gatekeeperSkips(p *Policy, r request) (skip result, ok bool) {
	if why := e.inv.gatekeeperExempt(r.namespace, r.nsLabels); why != "" && !r.clusterScoped() {
		return result{verdict: VerdictNotApplicable, messages: []string{why}}, true
	}
	if why := e.inv.gatekeeperNotSent(r); why != "" {
		return result{verdict: VerdictNotApplicable, messages: []string{why}}, true
	}
	selected, err := matches(p.exec.match, r)
	if err != nil {
		return result{verdict: VerdictError, err: fmt.Sprintf("%s: spec.match: %v", p.Source, err)}, true
	}
	if !selected {
		return result{verdict: VerdictNotApplicable}, true
	}
	return result{}, false
}

// The requests a workload probe makes at admission.
type requestKind int

const (
	reqObject   requestKind = iota // the probe's own request
	reqExpanded                    // Gatekeeper's expansion of a workload into its Pod
	reqPod                         // the Pod the workload's controller creates
)

type result struct {
	verdict  Verdict
	messages []string
	err      string
}

func (e *Evaluator) evalRego(ec *engineCtx, p *Policy, in *probeInput, which requestKind) result {
	if which != reqObject && in.pod == nil {
		return result{verdict: VerdictNotApplicable}
	}
	q := e.queries[p.exec.key]
	if bad, ok := e.queries[p.ID]; ok {
		q = bad
	}
	if q == nil {
		return result{verdict: VerdictError, err: fmt.Sprintf("%s: policy %s was not compiled", p.Source, p.ID)}
	}
	if q.err != "" {
		return result{verdict: VerdictError, err: q.err}
	}
	if p.exec.gatekeeper {
		req, _ := in.request(which)
		if skip, ok := e.gatekeeperSkips(p, req); ok {
			return skip
		}
	}
	// A namespace-blind policy gives the same result in every namespace where its input
	// differs only in the namespace: the match and exemptions above are per namespace, the
	// Rego evaluation below is shared (docs/semantics.md, "Evaluations shared between
	// namespaces"). Gatekeeper's reviews also carry LimitRange defaults, so a namespace with
	// LimitRanges keeps its own.
	if !e.blind[p.exec.key] || e.printOut != io.Discard { // print() output stays per namespace
		return e.runRego(ec.get(), p, q, in, which)
	}
	k := sharedKey{policy: p, which: which}
	if p.exec.gatekeeper {
		k.limited = in.limited
	}
	b := in.base
	b.sharedMu.Lock()
	r, ok := b.shared[k]
	b.sharedMu.Unlock()
	if ok {
		return r
	}
	ctx := ec.get()
	r = e.runRego(ctx, p, q, in, which)
	if ctx.Err() == nil { // a cancelled or timed-out run is not the policy's answer
		b.sharedMu.Lock()
		if b.shared == nil {
			b.shared = map[sharedKey]result{}
		}
		b.shared[k] = r
		b.sharedMu.Unlock()
	}
	return r
}

// sharedKey names a Rego result shared between namespaces: a policy on one request of a probe,
// with the namespace whose LimitRanges shaped the review ("" for none).
type sharedKey struct {
	policy  *Policy
	which   requestKind
	limited string
}

// runRego evaluates p's prepared query on one request of in: the manifest for a Rego file's
// policy, Gatekeeper's input.review and the Constraint's parameters for a template.
func (e *Evaluator) runRego(ctx context.Context, p *Policy, q *compiled, in *probeInput, which requestKind) result {
	if err := in.regoValues(); err != nil {
		return result{verdict: VerdictError, err: err.Error()}
	}
	var input ast.Value = in.objectValue
	if p.exec.gatekeeper {
		_, rev := in.request(which) // built by regoValues
		input = ast.NewObject(
			[2]*ast.Term{ast.StringTerm("review"), rev},
			[2]*ast.Term{ast.StringTerm("parameters"), e.params[p.ID]},
		)
	}
	rs, err := q.pq.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return result{verdict: VerdictError, err: e.evalError(ctx, p, err)}
	}
	var msgs []string
	denied := false
	for _, r := range rs {
		for i, rule := range p.exec.rules {
			vals, _ := r.Bindings[fmt.Sprintf("r%d", i)].([]any)
			for _, v := range vals {
				if truthy(v) {
					denied = true
					msgs = append(msgs, message(rule.name, v))
				}
			}
		}
	}
	if denied {
		return result{verdict: VerdictDenied, messages: msgs}
	}
	return result{verdict: VerdictAdmitted}
}

func (e *Evaluator) evalError(ctx context.Context, p *Policy, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || topdown.IsCancel(err) && ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Sprintf("%s: policy %s exceeded the %s evaluation time limit (it loops or builds huge values); fix or remove it", p.Source, p.ID, e.timeout)
		}
		return fmt.Sprintf("%s: evaluation of policy %s cancelled", p.Source, p.ID)
	}
	var te *topdown.Error
	if errors.As(err, &te) && te.Location != nil {
		return fmt.Sprintf("%s:%d: %s: %s", te.Location.File, te.Location.Row, te.Code, te.Message)
	}
	return fmt.Sprintf("%s: policy %s: %v", p.Source, p.ID, err)
}

// truthy follows conftest: false, null and empty values do not deny.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

func message(rule string, v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return rule
	case map[string]any:
		if m, ok := x["msg"].(string); ok {
			return m
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// EvaluateAll runs jobs on GOMAXPROCS workers and returns the evaluations in job order.
func (e *Evaluator) EvaluateAll(ctx context.Context, jobs []Job) []Evaluation {
	out := make([]Evaluation, len(jobs))
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	// Run the jobs of one probe-in-namespace together and drop its converted input after the
	// last of them: inputs are per namespace, and keeping them all made memory grow with
	// probes x namespaces. Sorted by inputKey, the jobs of one probe in every namespace are
	// together too, and its namespace-free conversion goes after the last. The results keep
	// the order of jobs.
	keys := make([]inputKey, len(jobs))
	remaining := map[inputKey]int{}
	remainingBase := map[baseKey]int{}
	order := make([]int, len(jobs))
	for i, j := range jobs {
		keys[i] = inputKey{baseKeyOf(j.Probe), j.Namespace}
		remaining[keys[i]]++
		remainingBase[keys[i].base]++
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return keys[order[a]].less(keys[order[b]]) })
	// A worker takes all the jobs of one probe at a time, so one worker converts its input and
	// no two race to build the same one; workers pull groups from a counter rather than a
	// channel, which cost a goroutine hand-off per job.
	var groups [][]int
	for k, i := range order {
		if k == 0 || keys[i].base != keys[order[k-1]].base {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], i)
	}
	e.kyvernoPrepare(ctx, jobs)
	workers = min(workers, len(groups))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for g := int(next.Add(1) - 1); g < len(groups); g = int(next.Add(1) - 1) {
				for _, i := range groups[g] {
					j := jobs[i]
					out[i] = e.Evaluate(ctx, j.Policy, j.Probe, j.Namespace)
					e.mu.Lock()
					if remaining[keys[i]]--; remaining[keys[i]] == 0 {
						delete(e.inputs, keys[i])
					}
					if remainingBase[keys[i].base]--; remainingBase[keys[i].base] == 0 {
						delete(e.bases, keys[i].base)
					}
					e.mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return out
}
