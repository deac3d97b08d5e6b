package policies

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/threatcov/threatcov/probes"
)

// Kyverno policies are executed by the pinned kyverno CLI (scripts/kyverno-build.sh), run as
// a subprocess: `kyverno apply` with every Kyverno policy, the PolicyExceptions and the probe
// requests as resources, once per batch of requests that share a requester, an operation and a
// subresource; its policy report is read back into verdicts. docs/policies.md ("Kyverno:
// executed by the kyverno CLI") says why and what the CLI cannot express.

// kyvernoSet is the Kyverno part of an inventory as read: the policies (ClusterPolicy, Policy,
// ValidatingPolicy) and PolicyExceptions, handed to the CLI as they are.
type kyvernoSet struct {
	docs, exceptions []Object

	blindOnce sync.Once
	blind     bool

	labelOnce  sync.Once
	labelBlind bool
}

// userBlind reports whether no policy or exception can tell requesters apart: none names
// subjects, roles or cluster roles, or reads the request's userInfo or a service account.
// Then every request can share the CLI runs of one requester, whoever sends it.
func (k *kyvernoSet) userBlind() bool {
	k.blindOnce.Do(func() {
		k.blind = true
		for _, o := range append(slices.Clone(k.docs), k.exceptions...) {
			b, err := json.Marshal(o.Object)
			if err != nil || userWords.Match(b) {
				k.blind = false
				return
			}
		}
	})
	return k.blind
}

// readsNamespaceLabels reports whether some policy or exception may read a namespace's labels:
// a namespace selector (in a match, an exclusion or validationFailureActionOverrides), the
// namespace object in CEL, or an API call or global context entry (which may fetch it).
// Otherwise a change of labels leaves every Kyverno verdict as it was.
func (k *kyvernoSet) readsNamespaceLabels() bool {
	k.labelOnce.Do(func() {
		k.labelBlind = true
		for _, o := range append(slices.Clone(k.docs), k.exceptions...) {
			b, err := json.Marshal(o.Object)
			if err != nil || labelWords.Match(b) {
				k.labelBlind = false
				return
			}
		}
	})
	return !k.labelBlind
}

var labelWords = regexp.MustCompile(`(?i)namespaceselector|namespaceobject|apicall|globalreference`)

var userWords = regexp.MustCompile(`(?i)"subjects"|"roles"|"clusterroles"|userinfo|serviceaccount`)

// EnvKyverno names the kyverno CLI binary to run.
const EnvKyverno = "THREATCOV_KYVERNO"

// ErrKyvernoMissing is returned (wrapped) by KyvernoBinary when no kyverno CLI is found.
var ErrKyvernoMissing = errors.New("kyverno CLI not found")

// KyvernoBinary finds the kyverno CLI: $THREATCOV_KYVERNO when set, else .cache/bin/kyverno
// under the threatcov module root above the working directory (scripts/kyverno-build.sh
// builds it there), else kyverno on PATH.
func KyvernoBinary() (string, error) {
	if p := os.Getenv(EnvKyverno); p != "" {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return "", fmt.Errorf("%w: %s=%s is not a file", ErrKyvernoMissing, EnvKyverno, p)
		}
		return p, nil
	}
	if dir, err := os.Getwd(); err == nil {
		for {
			data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err == nil && strings.HasPrefix(string(data), "module github.com/threatcov/threatcov\n") {
				p := filepath.Join(dir, ".cache", "bin", "kyverno")
				if st, err := os.Stat(p); err == nil && !st.IsDir() {
					return p, nil
				}
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	if p, err := exec.LookPath("kyverno"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%w: set %s, build it with scripts/kyverno-build.sh, or put kyverno v1.19 on PATH", ErrKyvernoMissing, EnvKyverno)
}

// WithKyverno executes the Kyverno policies with the kyverno CLI at bin (KyvernoBinary).
// Without it they are read statically (docs/policies.md).
func WithKyverno(bin string) Option {
	return func(e *Evaluator) {
		if bin != "" {
			e.kyv = &kyvernoEngine{bin: bin, done: map[inputKey]*kyvernoOutcome{}}
		}
	}
}

// KyvernoRunTimeout bounds one run of the kyverno CLI.
const KyvernoRunTimeout = 5 * time.Minute

// kyvernoRunMax is the most resources one run of the CLI gets: a larger batch is split into
// runs that share the cores (and each stays well within KyvernoRunTimeout).
const kyvernoRunMax = 400

// kyvernoEngine runs the CLI and keeps what its reports said, per probe placed in a namespace.
type kyvernoEngine struct {
	bin     string
	timeout time.Duration // 0: KyvernoRunTimeout
	mu      sync.Mutex
	done    map[inputKey]*kyvernoOutcome
	runMu   sync.Mutex // one batch at a time: a batch already uses every core
}

// kyvernoOutcome is what one batch learnt about one probe in one namespace.
type kyvernoOutcome struct {
	// static: the CLI cannot express the request (why); the static reading judges it.
	static string
	err    string // the batch failed for this request
	// object and pod are the report's results on the probe's own request and on the Pod its
	// workload's controller creates.
	object, pod []reportResult
	hasPod      bool
}

// reportResult is one result of the CLI's policy report (openreports.io ReportResult).
type reportResult struct {
	Policy      string `json:"policy"`
	Rule        string `json:"rule"`
	Result      string `json:"result"`
	Description string `json:"message"`
	Subjects    []struct {
		UID string `json:"uid"`
	} `json:"resources"`
	Properties map[string]string `json:"properties"`
}

// policyReport is the part of a ClusterReport or PolicyReport the CLI prints that is read.
type policyReport struct {
	Kind    string         `json:"kind"`
	Results []reportResult `json:"results"`
}

// kyvernoPair is a probe placed in a namespace, to run through the CLI.
type kyvernoPair struct {
	probe     probes.Probe
	namespace string
}

// evalKyverno is Evaluate for a Kyverno policy when the CLI executes them.
func (e *Evaluator) evalKyverno(ctx context.Context, p *Policy, probe probes.Probe, in *probeInput, ev Evaluation) Evaluation {
	key := inputKey{baseKeyOf(probe), ev.Namespace}
	out := e.kyv.outcome(key)
	if out == nil {
		e.kyvernoBatch(ctx, []kyvernoPair{{probe, ev.Namespace}})
		if out = e.kyv.outcome(key); out == nil {
			ev.Verdict, ev.Err = VerdictError, fmt.Sprintf("%s: the kyverno CLI gave no answer on probe %s", p.Source, probe.Name)
			return ev
		}
	}
	switch {
	case out.err != "":
		ev.Verdict, ev.Err = VerdictError, out.err
		return ev
	case out.static != "":
		ev = e.kyvernoCovers(p, probe, in, ev)
		if ev.Verdict == VerdictError {
			ev.Err = fmt.Sprintf("%s: %s policy %s takes in this request, which the kyverno CLI cannot express (%s): not executed", p.Source, p.Engine, p.ID, out.static)
		}
		return ev
	}
	results := []result{kyvernoVerdict(p, ev.Namespace, e.nsLabels(ev.Namespace), out.object)}
	vias := []string{ViaObject}
	if out.hasPod {
		results, vias = append(results, kyvernoVerdict(p, ev.Namespace, e.nsLabels(ev.Namespace), out.pod)), append(vias, ViaPod)
	}
	// The CLI applies no configuration: Kyverno's filters decide which requests it is sent.
	cfg := e.inv.kyvernoConfigOf()
	for i, r := range []request{in.objectRequest, in.podRequest}[:len(results)] {
		if why := cfg.skips(r); why != "" {
			results[i] = result{verdict: VerdictNotApplicable, messages: []string{why}}
		}
	}
	ev = combine(ev, results, vias)
	if ev.Verdict == VerdictNotApplicable {
		// Say why: a precondition, a PolicyException.
		for _, r := range results {
			ev.Messages = append(ev.Messages, r.messages...)
		}
	}
	return ev
}

func (k *kyvernoEngine) outcome(key inputKey) *kyvernoOutcome {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.done[key]
}

// kyvernoVerdict turns the report's results on one request into p's verdict: a failed rule
// of p denies; a rule's runtime error is counted as Kyverno's webhook counts it (failurePolicy
// Fail denies, Ignore admits), except where the policy loads external data the CLI cannot
// (then it is an error: offline, the failure is not the policy's answer); a passed rule
// admits; skipped rules (preconditions, PolicyExceptions) and rules that do not match leave
// the request not applicable.
func kyvernoVerdict(p *Policy, namespace string, nsLabels map[string]string, rs []reportResult) result {
	k := p.kyverno
	var denied, errs, skips []string
	admitted := false
	for _, r := range rs {
		if r.Policy != k.key {
			continue
		}
		rule := r.Rule
		if !k.vp {
			if !k.ruleNames[rule] {
				rule = baseRule(rule)
			}
			if !k.ruleNames[rule] {
				continue
			}
		}
		msg := r.Rule
		if r.Description != "" {
			msg += ": " + r.Description
		}
		switch {
		case k.imageRules[rule]:
			errs = append(errs, fmt.Sprintf("%s: rule %s verifies images, which needs the registry: not executed offline", p.Source, rule))
		case (r.Result == "fail" || r.Result == "warn") && k.roleExcluded[rule]:
			errs = append(errs, fmt.Sprintf("%s: policy %s: rule %s denies, but an exclude or PolicyException leaves out requesters by role, which threatcov cannot know offline: the denial is not counted", p.Source, p.ID, rule))
		case r.Result == "fail" || r.Result == "warn":
			denied = append(denied, msg)
		case r.Result == "error" && k.external:
			errs = append(errs, fmt.Sprintf("%s: policy %s: rule %s failed offline (it loads external data the CLI cannot reach): %s", p.Source, p.ID, r.Rule, r.Description))
		case r.Result == "error" && strings.EqualFold(k.failurePolicy, "Ignore"):
			admitted = true
		case r.Result == "error":
			denied = append(denied, fmt.Sprintf("%s (a runtime error, counted as a denial by failurePolicy Fail)", msg))
		case r.Result == "pass":
			admitted = true
		default: // skip
			if ex := r.Properties["exceptions"]; ex != "" {
				msg += " (PolicyException " + ex + ")"
			}
			skips = append(skips, msg)
		}
	}
	switch {
	case len(denied) > 0:
		if why := auditOverride(k.overrides, p.Mode, namespace, nsLabels); why != "" {
			return result{verdict: VerdictAdmitted, messages: append([]string{why}, denied...)}
		}
		return result{verdict: VerdictDenied, messages: denied}
	case len(errs) > 0:
		return result{verdict: VerdictError, err: strings.Join(errs, "; ")}
	case admitted:
		return result{verdict: VerdictAdmitted}
	}
	return result{verdict: VerdictNotApplicable, messages: skips}
}

// auditOverride says why an enforcing policy's denial in namespace only audits: a
// validationFailureActionOverrides entry with action Audit whose namespaces or
// namespaceSelector take it in.
func auditOverride(overrides []any, mode Mode, namespace string, nsLabels map[string]string) string {
	if mode != ModeEnforce {
		return ""
	}
	for _, o := range overrides {
		if !strings.EqualFold(str(o, "action"), "audit") {
			continue
		}
		nss := strs(o, "namespaces")
		in := len(nss) > 0 && wildcardAny(nss, namespace)
		if sel, ok := lookup(o, "namespaceSelector").(map[string]any); ok {
			ok, err := selectorMatches(sel, nsLabels)
			in = in || len(nss) == 0 && (ok || err != nil)
		}
		if in {
			return fmt.Sprintf("validationFailureActionOverrides sets Audit in namespace %s: the denial is only audited", namespace)
		}
	}
	return ""
}

// combine is the verdict of a workload's requests, in order: the first denial decides (no Pod
// runs), else an error, else admitted if any request was.
func combine(ev Evaluation, results []result, vias []string) Evaluation {
	var errs []string
	admitted := false
	for i, r := range results {
		switch r.verdict {
		case VerdictDenied:
			ev.Verdict, ev.Via, ev.Messages = VerdictDenied, vias[i], r.messages
			return ev
		case VerdictError:
			errs = append(errs, r.err)
		case VerdictAdmitted:
			admitted = true
		}
	}
	switch {
	case len(errs) > 0:
		ev.Verdict, ev.Err = VerdictError, strings.Join(dedupe(errs), "; ")
	case admitted:
		ev.Verdict = VerdictAdmitted
	default:
		ev.Verdict = VerdictNotApplicable
	}
	return ev
}

// kyvernoRun is one invocation of the CLI: requests sharing requester, operation and
// subresource.
type kyvernoRun struct {
	user      probes.UserInfo
	op, sub   string
	resources []map[string]any
	targets   [][]kyvernoTarget // by resource index
	// names and uids map apiVersion/kind/namespace/name of each resource to its content and
	// UID.
	names, uids map[string]string
}

type kyvernoTarget struct {
	key inputKey
	pod bool
}

// kyvernoExpressible says why the CLI cannot express a probe's request, or "": `kyverno
// apply` simulates CREATE, UPDATE (with the object as its own old object) and DELETE, and of
// subresources only those whose object is the parent kind (Pod/ephemeralcontainers).
func kyvernoExpressible(probe probes.Probe) string {
	switch op := firstNonEmpty(probe.Operation, "CREATE"); {
	case op != "CREATE" && op != "UPDATE":
		return "operation " + op
	case probe.SubResource != "" && !(probe.SubResource == "ephemeralcontainers" && str(probe.Object, "kind") == "Pod"):
		return "subresource " + probe.SubResource + " of " + str(probe.Object, "kind")
	}
	return ""
}

// kyvernoBatch runs the CLI on every Kyverno policy of the inventory and the requests of the
// pairs not judged yet, and keeps the outcome of each.
func (e *Evaluator) kyvernoBatch(ctx context.Context, pairs []kyvernoPair) {
	k := e.kyv
	k.runMu.Lock()
	defer k.runMu.Unlock()
	runs := map[string]*kyvernoRun{}
	outcomes := map[inputKey]*kyvernoOutcome{}
	n := 0
	userBlind := e.inv.kyverno.userBlind()
	add := func(user probes.UserInfo, op, sub string, obj map[string]any, t kyvernoTarget) {
		if userBlind {
			user = probes.Attacker // no policy or exception can tell requesters apart
		}
		// A request already in the batch (a cluster-scoped object is the same in every
		// namespace) is judged once. The CLI refuses two resources of one kind, namespace and
		// name in one run (its fake client panics): another goes to the next run of the same
		// requester.
		id := str(obj, "apiVersion") + "/" + str(obj, "kind") + "/" + str(obj, "metadata", "namespace") + "/" + str(obj, "metadata", "name")
		content, err := json.Marshal(obj)
		if err != nil {
			outcomes[t.key].err = err.Error()
			return
		}
		var run *kyvernoRun
		for i := 0; run == nil; i++ {
			rk := fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%04d", user.Username, strings.Join(user.Groups, ","), op, sub, i)
			r := runs[rk]
			switch {
			case r == nil:
				run = &kyvernoRun{user: user, op: op, sub: sub, names: map[string]string{}}
				runs[rk] = run
			case r.names[id] == string(content):
				i := slices.IndexFunc(r.resources, func(o map[string]any) bool { return str(o, "metadata", "uid") == r.uids[id] })
				r.targets[i] = append(r.targets[i], t)
				return
			case r.names[id] == "" && len(r.resources) < kyvernoRunMax:
				run = r
			}
		}
		uid := fmt.Sprintf("threatcov-%d", n)
		n++
		if run.uids == nil {
			run.uids = map[string]string{}
		}
		run.names[id], run.uids[id] = string(content), uid
		run.resources = append(run.resources, withUID(obj, uid))
		run.targets = append(run.targets, []kyvernoTarget{t})
	}
	for _, pr := range pairs {
		key := inputKey{baseKeyOf(pr.probe), pr.namespace}
		if k.outcome(key) != nil || outcomes[key] != nil {
			continue
		}
		out := &kyvernoOutcome{}
		outcomes[key] = out
		if why := kyvernoExpressible(pr.probe); why != "" {
			out.static = why
			continue
		}
		in := e.buildInput(pr.probe, pr.namespace)
		if in.err != nil {
			out.err = in.err.Error()
			continue
		}
		op := firstNonEmpty(pr.probe.Operation, "CREATE")
		add(in.objectRequest.user, op, pr.probe.SubResource, in.admitted, kyvernoTarget{key: key})
		if in.pod != nil {
			out.hasPod = true
			add(in.podRequest.user, "CREATE", "", in.pod, kyvernoTarget{key: key, pod: true})
		}
	}
	keys := make([]string, 0, len(runs))
	for rk := range runs {
		keys = append(keys, rk)
	}
	sort.Strings(keys)
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var mu sync.Mutex
	for _, rk := range keys {
		run := runs[rk]
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results, err := e.runKyverno(ctx, run)
			mu.Lock()
			defer mu.Unlock()
			for i, ts := range run.targets {
				for _, t := range ts {
					out := outcomes[t.key]
					if err != nil {
						out.err = err.Error()
						continue
					}
					uid := str(run.resources[i], "metadata", "uid")
					if t.pod {
						out.pod = results[uid]
					} else {
						out.object = results[uid]
					}
				}
			}
		})
	}
	wg.Wait()
	k.mu.Lock()
	for key, out := range outcomes {
		k.done[key] = out
	}
	k.mu.Unlock()
}

// withUID returns obj with metadata.uid set: the report names each resource by it.
func withUID(obj map[string]any, uid string) map[string]any {
	md, _ := obj["metadata"].(map[string]any)
	return withMetadata(obj, md, "uid", uid)
}

// runKyverno runs `kyverno apply` on one run's resources in a temporary directory (removed
// after), offline (no kubeconfig, no registry, an empty HOME), within the time limit, and
// returns the report's results by resource UID.
func (e *Evaluator) runKyverno(ctx context.Context, run *kyvernoRun) (map[string][]reportResult, error) {
	dir, err := os.MkdirTemp("", "threatcov-kyverno-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	files, err := e.writeKyvernoInputs(dir, run)
	if err != nil {
		return nil, err
	}
	args := []string{"apply", files.policies, "--resource", files.resources, "--values-file", files.values,
		"--userinfo", files.userinfo, "--policy-report", "--output-format", "json", "--remove-color"}
	if files.exceptions != "" {
		args = append(args, "--exceptions", files.exceptions)
	}
	stdout, stderr, err := e.kyv.command(ctx, dir, args...)
	if err != nil {
		return nil, fmt.Errorf("kyverno apply: %v: %s", err, tail(stderr+stdout))
	}
	if bad := skippedPolicies(stdout); len(bad) > 0 {
		return nil, e.kyvernoRefused(bad)
	}
	return parseKyvernoReport(stdout)
}

// command runs the CLI in dir with a time limit; the process group is killed when it ends.
func (k *kyvernoEngine) command(ctx context.Context, dir string, args ...string) (stdout, stderr string, err error) {
	limit := k.timeout
	if limit <= 0 {
		limit = KyvernoRunTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.bin, args...)
	cmd.Dir = dir
	// Offline: no kubeconfig to reach a cluster, no credentials or caches from the user's
	// home, no proxy settings.
	cmd.Env = []string{"HOME=" + dir, "KUBECONFIG=" + filepath.Join(dir, "no-kubeconfig"), "PATH=/usr/bin:/bin", "TMPDIR=" + dir, "NO_COLOR=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("exceeded the %s time limit", limit)
	}
	// kyverno apply exits 1 when a policy fails a resource: that is an answer, not an error.
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 && strings.Contains(out.String(), `"results"`) {
		err = nil
	}
	return out.String(), errb.String(), err
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}

type kyvernoFiles struct {
	policies, exceptions, resources, values, userinfo string
}

// writeKyvernoInputs writes the policies, exceptions, resources, values (namespace labels and
// objects, the operation, the subresource) and requester of a run into dir.
func (e *Evaluator) writeKyvernoInputs(dir string, run *kyvernoRun) (kyvernoFiles, error) {
	f := kyvernoFiles{
		policies: filepath.Join(dir, "policies.yaml"), resources: filepath.Join(dir, "resources.yaml"),
		values: filepath.Join(dir, "values.yaml"), userinfo: filepath.Join(dir, "userinfo.yaml"),
	}
	set := e.inv.kyverno
	var docs []map[string]any
	for _, o := range set.docs {
		docs = append(docs, o.Object)
	}
	if err := writeJSONStream(f.policies, docs); err != nil {
		return f, err
	}
	if len(set.exceptions) > 0 {
		f.exceptions = filepath.Join(dir, "exceptions.yaml")
		var exs []map[string]any
		for _, o := range set.exceptions {
			exs = append(exs, o.Object)
		}
		if err := writeJSONStream(f.exceptions, exs); err != nil {
			return f, err
		}
	}
	if err := writeJSONStream(f.resources, run.resources); err != nil {
		return f, err
	}
	seen := map[string]bool{}
	var selectors, namespaces []any
	for _, r := range run.resources {
		ns := str(r, "metadata", "namespace")
		if ns == "" || seen[ns] {
			continue
		}
		seen[ns] = true
		labels := e.nsLabels(ns)
		selectors = append(selectors, map[string]any{"name": ns, "labels": labels})
		namespaces = append(namespaces, namespaceObject(ns, labels))
	}
	values := map[string]any{"apiVersion": "cli.kyverno.io/v1alpha1", "kind": "Values", "namespaceSelector": selectors, "namespaces": namespaces}
	if run.op != "CREATE" {
		values["globalValues"] = map[string]any{"request.operation": run.op}
	}
	if run.sub != "" {
		values["subresources"] = []any{map[string]any{
			"subresource":    map[string]any{"name": "pods/" + run.sub, "kind": "Pod", "group": "", "version": "v1"},
			"parentResource": map[string]any{"name": "pods", "kind": "Pod", "group": "", "version": "v1"},
		}}
	}
	if err := writeJSON(f.values, values); err != nil {
		return f, err
	}
	user := map[string]any{"username": run.user.Username, "groups": run.user.Groups}
	info := map[string]any{"apiVersion": "cli.kyverno.io/v1alpha1", "kind": "UserInfo", "userInfo": user}
	// The controllers' service accounts hold the ClusterRole Kubernetes bootstraps for them.
	if sa, ok := strings.CutPrefix(run.user.Username, "system:serviceaccount:kube-system:"); ok && strings.HasSuffix(sa, "-controller") {
		info["clusterRoles"] = []string{"system:controller:" + sa}
	}
	return f, writeJSON(f.userinfo, info)
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// writeJSONStream writes objects as a YAML stream of JSON documents.
func writeJSONStream(path string, objs []map[string]any) error {
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		buf.WriteString("---\n")
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return os.WriteFile(path, buf.Bytes(), 0o600)
}

// parseKyvernoReport reads the reports `kyverno apply --policy-report --output-format json`
// prints (a ClusterReport, then a PolicyReport per namespaced policy, between other lines)
// into results by resource UID, in the order printed.
func parseKyvernoReport(stdout string) (map[string][]reportResult, error) {
	out := map[string][]reportResult{}
	found := false
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var rep policyReport
		if err := json.Unmarshal([]byte(line), &rep); err != nil {
			return nil, fmt.Errorf("kyverno apply: unreadable report: %v", err)
		}
		if rep.Kind != "ClusterReport" && rep.Kind != "PolicyReport" {
			continue
		}
		found = true
		for _, r := range rep.Results {
			switch r.Result {
			case "pass", "fail", "warn", "error", "skip":
			default:
				return nil, fmt.Errorf("kyverno apply: unknown result %q for policy %s rule %s", r.Result, r.Policy, r.Rule)
			}
			for _, s := range r.Subjects {
				out[s.UID] = append(out[s.UID], r)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kyverno apply: %v", err)
	}
	if !found {
		return nil, fmt.Errorf("kyverno apply printed no policy report: %s", tail(stdout))
	}
	return out, nil
}

// skippedPolicies reads the "Policies Skipped:" and "Invalid Policies:" lists the CLI prints
// for policies that fail its validation: policy name to reason.
func skippedPolicies(stdout string) map[string]string {
	out := map[string]string{}
	in := false
	for _, line := range strings.Split(stdout, "\n") {
		switch {
		case line == "Policies Skipped:" || line == "Invalid Policies:":
			in = true
		case strings.HasPrefix(line, "-----"):
			in = false
		case in:
			if m := skippedLine.FindStringSubmatch(line); m != nil {
				out[m[1]] = m[2]
			}
		}
	}
	return out
}

var skippedLine = regexp.MustCompile(`^\d+\. ([^:]+)(?:: (.*))?$`)

// kyvernoRefused is the user's error for policies the CLI refuses: each names its file and
// line.
func (e *Evaluator) kyvernoRefused(bad map[string]string) error {
	var errs []error
	names := make([]string, 0, len(bad))
	for n := range bad {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		loc := Location{File: "(unknown file)"}
		for _, o := range e.inv.kyverno.docs {
			if str(o.Object, "metadata", "name") == n {
				loc = o.Source
			}
		}
		errs = append(errs, fmt.Errorf("%w: %s: Kyverno policy %s is refused by the kyverno CLI: %s; fix the policy", ErrInput, loc, n, bad[n]))
	}
	return errors.Join(errs...)
}

// kyvernoCheck runs the CLI once on the policies alone with one Pod, so that a policy Kyverno
// refuses (a bad pattern, bad CEL, an unknown field) is an input error naming its file and
// line before any verdict is taken.
func (e *Evaluator) kyvernoCheck(ctx context.Context) error {
	if e.kyv == nil || e.inv.kyverno == nil {
		return nil
	}
	dir, err := os.MkdirTemp("", "threatcov-kyverno-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	run := &kyvernoRun{user: probes.Attacker, op: "CREATE", resources: []map[string]any{{
		"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "threatcov-check", "namespace": DefaultNamespace, "uid": "threatcov-check"},
		"spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "registry.example/c:1"}}},
	}}}
	files, err := e.writeKyvernoInputs(dir, run)
	if err != nil {
		return err
	}
	args := []string{"apply", files.policies, "--resource", files.resources, "--values-file", files.values,
		"--policy-report", "--output-format", "json", "--remove-color"}
	if files.exceptions != "" {
		args = append(args, "--exceptions", files.exceptions)
	}
	stdout, stderr, err := e.kyv.command(ctx, dir, args...)
	if bad := skippedPolicies(stdout); len(bad) > 0 {
		return e.kyvernoRefused(bad)
	}
	if err != nil {
		return e.kyvernoLoadError(stderr + stdout)
	}
	return nil
}

// kyvernoLoadError is the user's error when the CLI refuses to load the policy set: it
// names the file and line of the policy its message names, when it names one.
func (e *Evaluator) kyvernoLoadError(msg string) error {
	msg = tail(msg)
	objs := append(slices.Clone(e.inv.kyverno.docs), e.inv.kyverno.exceptions...)
	// The message names the policy ("compile policy NAME"), or else mentions its name as a
	// word; names are DNS labels, so a word ends at anything but [a-z0-9.-].
	for _, named := range []func(n string) bool{
		func(n string) bool { return strings.Contains(msg, "policy "+n+" ") },
		func(n string) bool {
			return regexp.MustCompile(`(^|[^a-z0-9.-])` + regexp.QuoteMeta(n) + `([^a-z0-9.-]|$)`).MatchString(msg)
		},
	} {
		for _, o := range objs {
			if n := str(o.Object, "metadata", "name"); n != "" && named(n) {
				return fmt.Errorf("%w: %s: Kyverno %s %s is refused by the kyverno CLI: %s; fix it", ErrInput, o.Source, str(o.Object, "kind"), n, msg)
			}
		}
	}
	files := map[string]bool{}
	var where []string
	for _, o := range e.inv.kyverno.docs {
		if !files[o.Source.File] {
			files[o.Source.File] = true
			where = append(where, o.Source.String())
		}
	}
	return fmt.Errorf("%w: %s: the kyverno CLI refuses the Kyverno policies: %s; fix them", ErrInput, strings.Join(where, ", "), msg)
}

// kyvernoPrepare runs, in one batch, the requests of every job on a Kyverno policy that the
// CLI has not judged yet.
func (e *Evaluator) kyvernoPrepare(ctx context.Context, jobs []Job) {
	if e.kyv == nil {
		return
	}
	var pairs []kyvernoPair
	seen := map[inputKey]bool{}
	for _, j := range jobs {
		if j.Policy.kyverno == nil {
			continue
		}
		ns := j.Namespace
		if ns == "" {
			ns = DefaultNamespace
		}
		if own := str(j.Probe.Object, "metadata", "namespace"); own != "" && !probes.ClusterScoped(str(j.Probe.Object, "kind")) {
			ns = own
		}
		// A probe's benign twin is judged where the probe is denied (the analyzer asks next):
		// it joins this batch rather than costing a second round of CLI runs.
		for _, probe := range []*probes.Probe{&j.Probe, j.Probe.Twin} {
			if probe == nil {
				continue
			}
			key := inputKey{baseKeyOf(*probe), ns}
			if !seen[key] && e.kyv.outcome(key) == nil {
				seen[key] = true
				pairs = append(pairs, kyvernoPair{*probe, ns})
			}
		}
	}
	if len(pairs) > 0 {
		e.kyvernoBatch(ctx, pairs)
	}
}

// HasKyverno reports whether the inventory holds Kyverno policies, which the kyverno CLI
// executes (WithKyverno).
func (inv *Inventory) HasKyverno() bool { return inv.kyverno != nil }
