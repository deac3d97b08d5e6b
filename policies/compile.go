package policies

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown/print"
)

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

	kyv *kyvernoEngine // nil: Kyverno policies are read statically
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
	if e.kyv != nil && inv.kyverno != nil {
		if err := e.kyvernoCheck(context.Background()); err != nil {
			return nil, err
		}
		for _, p := range inv.Policies {
			if p.kyverno != nil {
				p.Verifiable = true
			}
		}
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
