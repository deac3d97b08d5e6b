package policies

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/print"
	"github.com/threatcov/threatcov/probes"
	corev1 "k8s.io/api/core/v1"
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

// Option configures an Evaluator.
type Option func(*Evaluator)

// WithTimeout sets the per-evaluation time limit (default DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(e *Evaluator) {
		if d > 0 {
			e.timeout = d
		}
	}
}

// WithPrintOutput captures the output of Rego print() calls as "file:line: text" lines
// (default: discarded).
func WithPrintOutput(w io.Writer) Option {
	return func(e *Evaluator) {
		if w != nil {
			e.printOut = w
		}
	}
}

// WithMemoryLimit sets how far the heap may grow while policies evaluate before the running
// evaluations are stopped (default DefaultMemoryLimit); see the package documentation.
func WithMemoryLimit(bytes uint64) Option {
	return func(e *Evaluator) {
		if bytes > 0 {
			e.mem.limit = bytes
		}
	}
}

// WithReferentialData gives Gatekeeper templates the objects Gatekeeper would have synced
// into data.inventory (cluster-scoped objects under data.inventory.cluster[apiVersion][kind]
// [name], namespaced ones under data.inventory.namespace[ns][apiVersion][kind][name]).
// Without it, data.inventory is empty, as in a cluster with no sync configuration.
func WithReferentialData(objs []map[string]any) Option {
	return func(e *Evaluator) {
		e.referential = append(e.referential, objs...)
	}
}

// Evaluator executes verifiable policies against probes. It is safe for concurrent use.
type Evaluator struct {
	inv      *Inventory
	timeout  time.Duration
	printOut io.Writer
	printMu  sync.Mutex

	queries map[string]*compiled // by execSpec.key
	blind   map[string]bool      // by execSpec.key: the modules cannot see the namespace
	params  map[string]*ast.Term // Gatekeeper parameters by policy ID
	inputs  map[inputKey]*probeInput
	bases   map[baseKey]*probeBase
	mu      sync.Mutex
	psa     psaRegistry
	mem     *memGuard

	referential []map[string]any
	store       storage.Store // data.inventory for Gatekeeper templates
}

type compiled struct {
	pq  rego.PreparedEvalQuery
	err string
}

// NewEvaluator compiles every verifiable policy of inv once. A policy that fails to compile
// (syntax, type error, a forbidden built-in) is not an error here: its evaluations return
// VerdictError with the compiler's file:line message.
func NewEvaluator(inv *Inventory, opts ...Option) (*Evaluator, error) {
	e := &Evaluator{
		inv:      inv,
		timeout:  DefaultTimeout,
		printOut: io.Discard,
		queries:  map[string]*compiled{},
		blind:    map[string]bool{},
		params:   map[string]*ast.Term{},
		inputs:   map[inputKey]*probeInput{},
		bases:    map[baseKey]*probeBase{},
		mem:      newMemGuard(DefaultMemoryLimit),
	}
	for _, o := range opts {
		o(e)
	}
	var err error
	if e.psa, err = newPSARegistry(); err != nil {
		return nil, fmt.Errorf("set up Pod Security Admission checks: %w", err)
	}
	if e.store, err = referentialStore(append(e.referential, inv.syncedObjects()...)); err != nil {
		return nil, fmt.Errorf("referential data: %w", err)
	}
	caps := sandboxCapabilities()
	shared := e.compilePipeline(inv, caps)
	for _, p := range inv.Policies {
		if !p.Verifiable || p.exec == nil || p.exec.modules == nil {
			continue
		}
		if _, done := e.queries[p.exec.key]; !done {
			e.blind[p.exec.key] = namespaceBlind(p.exec.modules)
			if q := shared[p.exec.key]; q != nil {
				e.queries[p.exec.key] = q
			} else {
				e.queries[p.exec.key] = e.compile(p.exec, caps)
			}
		}
		if p.exec.gatekeeper {
			params := p.exec.params
			if params == nil {
				params = map[string]any{}
			}
			v, err := ast.InterfaceToValue(params)
			if err != nil {
				e.queries[p.ID] = &compiled{err: fmt.Sprintf("%s: spec.parameters: %v", p.Source, err)}
				continue
			}
			e.params[p.ID] = ast.NewTerm(v)
		}
	}
	return e, nil
}

func (e *Evaluator) compile(spec *execSpec, caps *ast.Capabilities) *compiled {
	if bad := forbiddenCalls(spec.modules); len(bad) > 0 {
		return &compiled{err: strings.Join(bad, "; ")}
	}
	c := ast.NewCompiler().WithCapabilities(compileCapabilities(caps, spec.modules)).WithEnablePrintStatements(true)
	c.Compile(spec.modules)
	if c.Failed() {
		return &compiled{err: strings.Join(astErrors(c.Errors), "; ")}
	}
	return e.prepare(c, spec)
}

// prepare prepares spec's query on a compiler that holds its modules.
func (e *Evaluator) prepare(c *ast.Compiler, spec *execSpec) *compiled {
	var ref strings.Builder
	ref.WriteString("data")
	for _, seg := range strings.Split(spec.pkg, ".") {
		fmt.Fprintf(&ref, "[%q]", seg)
	}
	var q []string
	for i, r := range spec.rules {
		iter := ""
		if r.multi {
			iter = "[_]"
		}
		q = append(q, fmt.Sprintf("r%d := [x | x := %s[%q]%s]", i, ref.String(), r.name, iter))
	}
	opts := []func(*rego.Rego){
		rego.Compiler(c),
		rego.Query(strings.Join(q, "; ")),
		rego.EnablePrintStatements(true),
		rego.PrintHook(e),
	}
	if spec.gatekeeper {
		opts = append(opts, rego.Store(e.store))
	}
	pq, err := rego.New(opts...).PrepareForEval(context.Background())
	if err != nil {
		return &compiled{err: strings.Join(astErrors(err), "; ")}
	}
	return &compiled{pq: pq}
}

// compilePipeline compiles the Rego files' policies (the pipeline's, as conftest runs them)
// in one compiler and prepares each one's query on it, keyed by execSpec.key. Compiling each
// policy alone copied and compiled its libraries, and built a compiler's type environment,
// once per policy: about 2 ms and 0.15 MiB each, most of the cost of a large policy set.
// It returns nil, and every policy is compiled alone as before, when fewer than two policies
// would share, when a module calls a forbidden built-in, refers to data dynamically (data[x]
// would see the other policies' packages) or shares a file name with a different module, or
// when the whole fails to compile: a policy's errors are then reported as for it alone.
func (e *Evaluator) compilePipeline(inv *Inventory, caps *ast.Capabilities) map[string]*compiled {
	var specs []*execSpec
	modules := map[string]*ast.Module{}
	seen := map[string]bool{}
	for _, p := range inv.Policies {
		x := p.exec
		if !p.Verifiable || x == nil || x.modules == nil || x.gatekeeper || x.psaNamespace != "" || seen[x.key] {
			continue
		}
		seen[x.key] = true
		specs = append(specs, x)
		for k, m := range x.modules {
			if prev, ok := modules[k]; ok && prev != m {
				return nil
			}
			modules[k] = m
		}
	}
	if len(specs) < 2 || len(forbiddenCalls(modules)) > 0 {
		return nil
	}
	for _, m := range modules {
		if dynamicDataRef(m) {
			return nil
		}
	}
	c := ast.NewCompiler().WithCapabilities(caps).WithEnablePrintStatements(true)
	c.Compile(modules)
	if c.Failed() {
		return nil
	}
	out := make(map[string]*compiled, len(specs))
	for _, x := range specs {
		if q := e.prepare(c, x); q.err == "" {
			out[x.key] = q
		}
	}
	return out
}

// dynamicDataRef reports whether m refers to data as a whole or through a non-constant key
// at its root (data, data[x]).
func dynamicDataRef(m *ast.Module) bool {
	found := false
	var walk func(x any)
	walk = func(x any) {
		ast.NewGenericVisitor(func(x any) bool {
			switch v := x.(type) {
			case *ast.Package:
				return true // its path is data.<package>
			case ast.Ref:
				if len(v) > 0 && v[0].Equal(ast.DefaultRootDocument) {
					if len(v) < 2 {
						found = true
					} else if _, ok := v[1].Value.(ast.String); !ok {
						found = true
					}
					for _, t := range v[1:] {
						walk(t)
					}
					return true
				}
			case ast.Var:
				if v.Equal(ast.DefaultRootDocument.Value) {
					found = true
				}
			}
			return found
		}).Walk(x)
	}
	walk(m)
	return found
}

func referentialStore(objs []map[string]any) (storage.Store, error) {
	cluster, namespaced := map[string]any{}, map[string]any{}
	put := func(root map[string]any, keys []string, obj map[string]any) {
		for _, k := range keys[:len(keys)-1] {
			next, ok := root[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				root[k] = next
			}
			root = next
		}
		root[keys[len(keys)-1]] = obj
	}
	for _, o := range objs {
		apiVersion, kind, name := str(o, "apiVersion"), str(o, "kind"), str(o, "metadata", "name")
		if apiVersion == "" || kind == "" || name == "" {
			return nil, fmt.Errorf("object without apiVersion, kind or metadata.name: give each synced object all three")
		}
		if ns := str(o, "metadata", "namespace"); ns != "" {
			put(namespaced, []string{ns, apiVersion, kind, name}, o)
		} else {
			put(cluster, []string{apiVersion, kind, name}, o)
		}
	}
	return inmem.NewFromObject(map[string]any{"inventory": map[string]any{"cluster": cluster, "namespace": namespaced}}), nil
}

// Print implements OPA's print hook.
func (e *Evaluator) Print(pc print.Context, msg string) error {
	if e.printOut == io.Discard {
		return nil
	}
	e.printMu.Lock()
	defer e.printMu.Unlock()
	loc := ""
	if pc.Location != nil {
		loc = fmt.Sprintf("%s:%d: ", pc.Location.File, pc.Location.Row)
	}
	_, err := fmt.Fprintf(e.printOut, "%s%s\n", loc, msg)
	return err
}

// probeInput is a probe placed in a namespace, converted once for every policy.
type probeInput struct {
	object, pod map[string]any
	// admitted is the object after built-in admission, expanded the workload's Pod as
	// Gatekeeper's expansion builds it (nil without expansion): what CEL engines read.
	admitted, expanded map[string]any
	objectValue        ast.Value // pipeline input
	objectReview       *ast.Term // Gatekeeper input.review
	podReview          *ast.Term
	// expanded is the Pod Gatekeeper's expansion (ExpansionTemplates) reviews as part of the
	// workload's own request: the attacker's, source Generated; nil without expansion.
	expandedReview  *ast.Term
	expandedRequest request
	objectRequest   request
	podRequest      request
	base            *probeBase
	values          func() error // builds objectValue and the reviews (regoValues)
	valuesOnce      sync.Once
	valuesErr       error
	// limited names the namespace when LimitRanges mutated the admitted object or Pod ("" when
	// none did): reviews built here differ from other namespaces' in more than the namespace.
	limited string
	err     error
}

// inputKey identifies a converted input: the probe (by name and object identity) placed in a
// namespace.
type inputKey struct {
	base      baseKey
	namespace string
}

// baseKey identifies a probe by name and object identity.
type baseKey struct {
	name     string
	obj, old uintptr
}

func baseKeyOf(probe probes.Probe) baseKey {
	return baseKey{probe.Name, reflect.ValueOf(probe.Object).Pointer(), reflect.ValueOf(probe.OldObject).Pointer()}
}

func (k inputKey) less(o inputKey) bool {
	switch {
	case k.base.name != o.base.name:
		return k.base.name < o.base.name
	case k.base.obj != o.base.obj:
		return k.base.obj < o.base.obj
	case k.base.old != o.base.old:
		return k.base.old < o.base.old
	}
	return k.namespace < o.namespace
}

func (e *Evaluator) input(probe probes.Probe, namespace string) *probeInput {
	key := inputKey{baseKeyOf(probe), namespace}
	return cached(&e.mu, e.inputs, key, func() *probeInput { return e.buildInput(probe, namespace) })
}

// cached returns m[key], building it outside the lock when missing; when two goroutines build
// the same key, the first one stored wins.
func cached[K comparable, T any](mu *sync.Mutex, m map[K]T, key K, build func() T) T {
	mu.Lock()
	v, ok := m[key]
	mu.Unlock()
	if ok {
		return v
	}
	v = build()
	mu.Lock()
	defer mu.Unlock()
	if prev, ok := m[key]; ok {
		return prev
	}
	m[key] = v
	return v
}

// probeBase is a probe converted once for all namespaces: its object, old object and the Pod
// its controller would create, as maps and as Rego values. buildInput places them in a
// namespace by copying only their top level and metadata.
type probeBase struct {
	object, old, pod                map[string]any
	objectValue, oldValue, podValue ast.Value
	objectErr, oldErr, podErr       error
	// admitted is the object as validating admission sees it, after the API server's
	// built-in mutation (probes.Admit); the pipeline sees object as written.
	admitted      map[string]any
	admittedValue ast.Value
	admittedErr   error
	// expanded is the workload's Pod as Gatekeeper's expansion builds it: no built-in
	// admission has run on it.
	expanded      map[string]any
	expandedValue ast.Value

	// Rego results of namespace-blind policies on this probe, shared by every namespace
	// (docs/semantics.md, "Evaluations shared between namespaces").
	sharedMu sync.Mutex
	shared   map[sharedKey]result

	// The Pod as Pod Security Admission reads it, converted on first use: its checks read the
	// spec and annotations, never the namespace, so one conversion serves every namespace.
	typedOnce   sync.Once
	typedPod    *corev1.Pod
	typedPodErr error
}

func (e *Evaluator) base(probe probes.Probe) *probeBase {
	return cached(&e.mu, e.bases, baseKeyOf(probe), func() *probeBase {
		b := &probeBase{object: probe.Object, old: probe.OldObject}
		b.objectValue, b.objectErr = ast.InterfaceToValue(b.object)
		b.admitted, b.admittedValue, b.admittedErr = b.object, b.objectValue, b.objectErr
		if op := probe.Operation; (op == "" || op == "CREATE") && probe.SubResource == "" {
			if adm := probes.Admit(b.object); str(adm, "kind") == "Pod" {
				b.admitted = adm
				b.admittedValue, b.admittedErr = ast.InterfaceToValue(adm)
			}
		}
		if b.old != nil {
			b.oldValue, b.oldErr = ast.InterfaceToValue(b.old)
		}
		if b.expanded = probes.ExpandPod(b.object); b.expanded != nil {
			b.expandedValue, b.podErr = ast.InterfaceToValue(b.expanded)
			b.pod = probes.Admit(b.expanded)
			if b.podErr == nil {
				b.podValue, b.podErr = ast.InterfaceToValue(b.pod)
			}
		}
		return b
	})
}

// placed is probes.Place on an object: the namespace is set when the kind is namespaced and
// the object names none. The result shares all but its top level and metadata with obj,
// which nothing modifies. placedValue is the same on the object's Rego value v.
func placed(obj map[string]any, namespace string) map[string]any {
	if !needsPlacing(obj) {
		return obj
	}
	md, _ := obj["metadata"].(map[string]any)
	return withNamespace(obj, md, namespace)
}

func placedValue(obj map[string]any, v ast.Value, namespace string) ast.Value {
	if !needsPlacing(obj) {
		return v
	}
	md, _ := obj["metadata"].(map[string]any)
	return withNamespaceValue(md, v, namespace)
}

func needsPlacing(obj map[string]any) bool {
	kind, _ := obj["kind"].(string)
	if probes.ClusterScoped(kind) {
		return false
	}
	md, _ := obj["metadata"].(map[string]any)
	ns, _ := md["namespace"].(string)
	return ns == ""
}

// withNamespace returns obj with metadata.namespace set to namespace (md is obj's metadata,
// nil when it has none or it is not an object); withNamespaceValue the same on obj's Rego
// value v.
func withNamespace(obj, md map[string]any, namespace string) map[string]any {
	out := make(map[string]any, len(obj)+1)
	for k, x := range obj {
		out[k] = x
	}
	outMD := make(map[string]any, len(md)+1)
	for k, x := range md {
		outMD[k] = x
	}
	outMD["namespace"] = namespace
	out["metadata"] = outMD
	return out
}

func withNamespaceValue(md map[string]any, v ast.Value, namespace string) ast.Value {
	metadataKey, nsKey := ast.StringTerm("metadata"), ast.StringTerm("namespace")
	mdValue := ast.NewObject()
	if md != nil {
		if t := v.(ast.Object).Get(metadataKey); t != nil {
			t.Value.(ast.Object).Foreach(func(k, x *ast.Term) {
				if !k.Equal(nsKey) {
					mdValue.Insert(k, x)
				}
			})
		}
	}
	mdValue.Insert(nsKey, ast.StringTerm(namespace))
	objValue := ast.NewObject()
	v.(ast.Object).Foreach(func(k, x *ast.Term) {
		if !k.Equal(metadataKey) {
			objValue.Insert(k, x)
		}
	})
	objValue.Insert(metadataKey, ast.NewTerm(mdValue))
	return objValue
}

func (e *Evaluator) nsLabels(namespace string) map[string]string {
	for _, ns := range e.inv.Namespaces {
		if ns.Name == namespace {
			labels := map[string]string{"kubernetes.io/metadata.name": namespace}
			for k, v := range ns.Labels {
				labels[k] = v
			}
			return labels
		}
	}
	// The API server labels every namespace with its name.
	return map[string]string{"kubernetes.io/metadata.name": namespace}
}

func (e *Evaluator) buildInput(probe probes.Probe, namespace string) *probeInput {
	in := &probeInput{}
	if probe.Object == nil {
		in.err = fmt.Errorf("probe %s has no object", probe.Name)
		return in
	}
	b := e.base(probe)
	in.base = b
	if b.objectErr != nil {
		in.err = fmt.Errorf("probe %s: %v", probe.Name, b.objectErr)
		return in
	}
	if b.admittedErr != nil {
		in.err = fmt.Errorf("probe %s: %v", probe.Name, b.admittedErr)
		return in
	}
	in.object = placed(b.object, namespace)
	admitted := placed(b.admitted, namespace)
	// LimitRanger fills resources from the namespace's LimitRanges: a per-namespace mutation,
	// converted again only where a namespace has one.
	ranges := e.inv.limitRanges(namespace)
	if len(ranges) > 0 {
		in.limited = namespace
	}
	creates := (probe.Operation == "" || probe.Operation == "CREATE") && probe.SubResource == ""
	limitedAdmitted := len(ranges) > 0 && creates && str(admitted, "kind") == "Pod"
	if limitedAdmitted {
		admitted = probes.ApplyLimitRanges(admitted, ranges)
	}
	nsLabels := e.nsLabels(namespace)
	in.admitted = admitted
	in.objectRequest = requestFor(admitted, nsLabels, probes.Attacker)
	if b.old != nil && b.oldErr != nil {
		in.err = fmt.Errorf("probe %s: %v", probe.Name, b.oldErr)
		return in
	}
	op := probe.Operation
	if op == "" {
		op = "CREATE"
	}
	if b.pod != nil {
		if b.podErr != nil {
			in.err = fmt.Errorf("probe %s: %v", probe.Name, b.podErr)
			return in
		}
		// ExpandPod gives the Pod its workload's namespace.
		in.pod = b.pod
		if ns := str(in.object, "metadata", "namespace"); ns != "" {
			md, _ := b.pod["metadata"].(map[string]any)
			in.pod = withNamespace(b.pod, md, ns)
		}
		if len(ranges) > 0 {
			in.pod = probes.ApplyLimitRanges(in.pod, ranges)
		}
		// The controller creates the Pod: an original request from its service account.
		controller, _ := probes.Controller(str(in.object, "kind"))
		in.podRequest = requestFor(in.pod, nsLabels, controller)
		if e.inv.expandsToPod(str(in.object, "kind")) {
			expanded := b.expanded
			if ns := str(in.object, "metadata", "namespace"); ns != "" {
				md, _ := expanded["metadata"].(map[string]any)
				expanded = withNamespace(expanded, md, ns)
			}
			in.expanded = expanded
			in.expandedRequest = requestFor(expanded, nsLabels, probes.Attacker)
			in.expandedRequest.generated = true
		}
	}
	// The Rego values are built on first use: a namespace-blind policy's evaluation shared
	// from another namespace needs none of them. With LimitRanges they are built now, so a
	// conversion error fails every policy as before.
	values := func() error {
		in.objectValue = placedValue(b.object, b.objectValue, namespace)
		admittedValue := placedValue(b.admitted, b.admittedValue, namespace)
		var err error
		if limitedAdmitted {
			if admittedValue, err = ast.InterfaceToValue(admitted); err != nil {
				return err
			}
		}
		var old ast.Value
		if b.old != nil {
			old = placedValue(b.old, b.oldValue, namespace)
		}
		if in.objectReview, err = review(admittedValue, old, str(in.object, "apiVersion"), op, probe.SubResource, in.objectRequest); err != nil {
			return err
		}
		if in.pod == nil {
			return nil
		}
		podValue := b.podValue
		if ns := str(in.object, "metadata", "namespace"); ns != "" {
			md, _ := b.pod["metadata"].(map[string]any)
			podValue = withNamespaceValue(md, b.podValue, ns)
		}
		if len(ranges) > 0 {
			if podValue, err = ast.InterfaceToValue(in.pod); err != nil {
				return err
			}
		}
		if in.podReview, err = review(podValue, nil, str(in.pod, "apiVersion"), op, "", in.podRequest); err != nil {
			return err
		}
		if in.expanded != nil {
			expandedValue := b.expandedValue
			if ns := str(in.object, "metadata", "namespace"); ns != "" {
				md, _ := b.expanded["metadata"].(map[string]any)
				expandedValue = withNamespaceValue(md, expandedValue, ns)
			}
			if in.expandedReview, err = review(expandedValue, nil, str(in.expanded, "apiVersion"), op, "", in.expandedRequest); err != nil {
				return err
			}
		}
		return nil
	}
	in.values = func() error {
		if err := values(); err != nil {
			return fmt.Errorf("probe %s: %v", probe.Name, err)
		}
		return nil
	}
	if len(ranges) > 0 {
		in.err = in.regoValues()
	}
	return in
}

// regoValues builds in's Rego values once.
func (in *probeInput) regoValues() error {
	in.valuesOnce.Do(func() { in.valuesErr = in.values() })
	return in.valuesErr
}

func requestFor(obj map[string]any, nsLabels map[string]string, user probes.UserInfo) request {
	apiVersion := str(obj, "apiVersion")
	labels := map[string]string{}
	if m, ok := lookup(obj, "metadata", "labels").(map[string]any); ok {
		for k, v := range m {
			labels[k] = fmt.Sprint(v)
		}
	}
	return request{
		group: group(apiVersion), kind: str(obj, "kind"), name: str(obj, "metadata", "name"),
		namespace: str(obj, "metadata", "namespace"), labels: labels, nsLabels: nsLabels, user: user,
	}
}

// review is Gatekeeper's input.review: the AdmissionRequest fields templates read, around
// the already converted object (and old object, nil for none).
func review(obj, old ast.Value, apiVersion, op, sub string, r request) (*ast.Term, error) {
	version := apiVersion
	if i := strings.Index(version, "/"); i >= 0 {
		version = version[i+1:]
	}
	rv := map[string]any{
		"kind":      map[string]any{"group": r.group, "version": version, "kind": r.kind},
		"operation": op,
		"name":      r.name,
		"uid":       "threatcov-probe",
		"userInfo":  map[string]any{"username": r.user.Username, "groups": groupsOf(r.user)},
		"dryRun":    false,
	}
	if !r.clusterScoped() {
		rv["namespace"] = r.namespace
	}
	if sub != "" {
		rv["subResource"] = sub
	}
	v, err := ast.InterfaceToValue(rv)
	if err != nil {
		return nil, err
	}
	o := v.(ast.Object)
	o.Insert(ast.StringTerm("object"), ast.NewTerm(obj))
	if old != nil {
		o.Insert(ast.StringTerm("oldObject"), ast.NewTerm(old))
	}
	return ast.NewTerm(o), nil
}

func groupsOf(u probes.UserInfo) []any {
	out := make([]any, len(u.Groups))
	for i, g := range u.Groups {
		out[i] = g
	}
	return out
}

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
	if !p.Verifiable {
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

// request is the request of which, as Gatekeeper's match reads it, and its review.
func (in *probeInput) request(which requestKind) (request, *ast.Term) {
	switch which {
	case reqPod:
		return in.podRequest, in.podReview
	case reqExpanded:
		return in.expandedRequest, in.expandedReview
	}
	return in.objectRequest, in.objectReview
}

// gatekeeperSkips applies what decides, before a constraint's code runs, that Gatekeeper does
// not judge the request: the webhook's namespace exemptions and the constraint's match. ok
// says the request is skipped, with the result to return.
func (e *Evaluator) gatekeeperSkips(p *Policy, r request) (skip result, ok bool) {
	if why := e.inv.gatekeeperExempt(r.namespace, r.nsLabels); why != "" && !r.clusterScoped() {
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

// CompileErrors maps the ID of each verifiable policy that failed to compile (and so will only
// ever evaluate to VerdictError) to the reason.
func (e *Evaluator) CompileErrors() map[string]string {
	out := map[string]string{}
	for _, p := range e.inv.Policies {
		if !p.Verifiable || p.exec == nil || p.exec.modules == nil {
			continue
		}
		if q := e.queries[p.ID]; q != nil && q.err != "" {
			out[p.ID] = q.err
		} else if q := e.queries[p.exec.key]; q != nil && q.err != "" {
			out[p.ID] = q.err
		}
	}
	return out
}
