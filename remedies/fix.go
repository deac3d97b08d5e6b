package remedies

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/pipeline"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// planMaxPaths is how many open paths per goal the analyses list for the plan: all of them on
// the embedded catalog; beyond it the plan is made over the listed ones (Plan.Partial).
const planMaxPaths = 100000

// Config is what `threatcov fix` is given.
type Config struct {
	// Analysis is the policy set as deployed, and the rest of the analysis' inputs.
	Analysis pipeline.Config
	Options  Options
	// Dir is where the chosen remedies are written (created if missing).
	Dir string
	// Existing are manifests the team already runs: each written remedy is run on them.
	Existing []string
	// Include names remedies to write even where the plan does not need them.
	Include []string
}

// Validate checks the configuration before any work.
func (c Config) Validate() error {
	if c.Dir == "" {
		return errors.New("say where to write the policies: --dir FOLDER")
	}
	for _, p := range c.Analysis.Policies {
		if filepath.Clean(p) == filepath.Clean(c.Dir) {
			return fmt.Errorf("--dir %s is also a --policies path: fix writes what the deployed policies lack, and replaces what it wrote there before; give it a folder of its own", c.Dir)
		}
	}
	if c.Analysis.Cluster != nil && c.Analysis.Cluster.ProbeLive {
		return errors.New("--probe-live: fix judges the policies it writes offline, before they are deployed; drop --probe-live")
	}
	if err := c.Options.Validate(); err != nil {
		return err
	}
	if len(c.Include) > 0 {
		all, err := All()
		if err != nil {
			return err
		}
		var names []string
		for _, r := range all {
			names = append(names, r.Name)
		}
	include:
		for _, n := range c.Include {
			for _, r := range all {
				if r.Name != n {
					continue
				}
				if ok, why := c.Options.Writable(r); !ok {
					return fmt.Errorf("--include %s: %s", n, why)
				}
				continue include
			}
			return fmt.Errorf("--include %s: no such reference policy; use one of %s", n, strings.Join(names, ", "))
		}
	}
	return c.Analysis.Validate()
}

// Report is what fix did: the plan, the files it wrote, the figures before and after, and
// what the written policies would deny among the existing objects.
type Report struct {
	Options Options
	Plan    Plan
	// Files are the written files, in plan order.
	Files []string
	// Removed are remedy files of an earlier run that fix removed from Dir.
	Removed []string
	// Unwritable are remedies left out for want of an input, with what to give.
	Unwritable []Unwritable
	Before     Figures
	After      Figures
	// ClosedSteps are the steps blocked after and not before, sorted.
	ClosedSteps []string
	// Hits are, per written remedy, the existing objects it would deny.
	Hits []Hit
	// ExistingObjects is how many objects --existing held; ClusterObjects how many the
	// cluster runs that were read (workloads and RBAC not owned by a controller).
	ExistingObjects, ClusterObjects int
}

// Unwritable is a remedy fix could not consider.
type Unwritable struct {
	Remedy *Remedy
	Why    string
}

// Figures are the figures fix compares.
type Figures struct {
	Paths   analyzer.Ratio
	Open    *big.Int
	Steps   string
	Counts  map[analyzer.Status]int
	Blocked map[string]bool
}

// Hit is one existing object a written remedy would deny.
type Hit struct {
	Remedy  string
	Object  string // Kind namespace/name
	Source  policies.Location
	Message string
}

// Fix plans, writes and checks the remedies for c (see the package doc).
func Fix(ctx context.Context, c Config) (*Report, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	rep := &Report{Options: c.Options}
	all, err := All()
	if err != nil {
		return nil, err
	}
	var writable []*Remedy
	for _, r := range all {
		if ok, why := c.Options.Writable(r); ok {
			writable = append(writable, r)
		} else {
			rep.Unwritable = append(rep.Unwritable, Unwritable{Remedy: r, Why: why})
		}
	}
	var existing []policies.Object
	if len(c.Existing) > 0 {
		if existing, err = policies.ReadObjects("--existing", c.Existing...); err != nil {
			return nil, err
		}
		rep.ExistingObjects = len(existing)
	}
	if cl := c.Analysis.Cluster; cl != nil && cl.Requested() {
		stderr := c.Analysis.Stderr
		if stderr == nil {
			stderr = io.Discard
		}
		objs, err := cl.Workloads(ctx, c.Analysis.Progress, stderr)
		if err != nil {
			return nil, err
		}
		existing = append(existing, objs...)
		rep.ClusterObjects = len(objs)
	}

	cfg := c.Analysis
	cfg.MaxPaths = planMaxPaths
	before, _, err := pipeline.Run(ctx, cfg)
	if err != nil {
		return nil, err
	}
	rep.Before = figures(before)

	// Every remedy in deny mode, to learn which probe requests each denies.
	scratch, err := os.MkdirTemp("", "threatcov-fix-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	deny := c.Options
	deny.Mode = ModeDeny
	if _, err := write(scratch, writable, deny); err != nil {
		return nil, err
	}
	remedyOf, err := policyRemedies(scratch, writable, deny)
	if err != nil {
		return nil, err
	}
	withCfg := cfg
	withCfg.Progress = nil
	withCfg.Policies = append(append([]string(nil), cfg.Policies...), scratch)
	with, _, err := pipeline.Run(ctx, withCfg)
	if err != nil {
		return nil, fmt.Errorf("analyse with every reference policy: %w", err)
	}
	rep.Plan = makePlan(before, with, remedyOf, ExactLimit, c.Include)

	chosen := make([]*Remedy, len(rep.Plan.Choices))
	for i, ch := range rep.Plan.Choices {
		chosen[i] = ch.Remedy
	}
	if rep.Removed, err = removeEarlier(c.Dir, all); err != nil {
		return nil, err
	}
	if rep.Files, err = write(c.Dir, chosen, c.Options); err != nil {
		return nil, err
	}

	afterCfg := c.Analysis
	afterCfg.MaxPaths = planMaxPaths
	afterCfg.Progress = nil
	afterCfg.Policies = append(append([]string(nil), c.Analysis.Policies...), c.Dir)
	after, _, err := pipeline.Run(ctx, afterCfg)
	if err != nil {
		return nil, fmt.Errorf("analyse with the written policies: %w", err)
	}
	rep.After = figures(after)
	for id, b := range rep.After.Blocked {
		if b && !rep.Before.Blocked[id] {
			rep.ClosedSteps = append(rep.ClosedSteps, id)
		}
	}
	sort.Strings(rep.ClosedSteps)

	if len(existing) > 0 && len(chosen) > 0 {
		if rep.Hits, err = hits(ctx, c.Dir, chosen, c.Options, existing); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

func figures(res *analyzer.Result) Figures {
	f := Figures{Paths: res.Summary.Paths.Coverage, Open: res.Summary.Paths.Open,
		Steps: res.Summary.Steps.Text("addressable steps"), Counts: res.Summary.StepCounts, Blocked: map[string]bool{}}
	for _, s := range res.Steps {
		f.Blocked[s.Node] = s.Status == analyzer.StatusBlocked
	}
	return f
}

// write renders the remedies into dir and returns the files, in the remedies' order.
func write(dir string, rs []*Remedy, o Options) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, r := range rs {
		data, err := r.Render(o)
		if err != nil {
			return nil, err
		}
		file := filepath.Join(dir, r.FileName(o))
		if err := os.WriteFile(file, data, 0o644); err != nil {
			return nil, err
		}
		files = append(files, file)
	}
	return files, nil
}

// removeEarlier removes from dir the files an earlier fix wrote (any remedy, any engine), so
// that the folder holds this plan only; other files stay and are analysed with it.
func removeEarlier(dir string, all []*Remedy) ([]string, error) {
	var removed []string
	for _, r := range all {
		for _, e := range Engines {
			file := filepath.Join(dir, r.FileName(Options{Engine: Engine(e)}))
			err := os.Remove(file)
			switch {
			case err == nil:
				removed = append(removed, file)
			case !errors.Is(err, os.ErrNotExist):
				return nil, err
			}
		}
	}
	return removed, nil
}

// loadWritten loads the remedies written in dir and maps each policy id to its remedy.
func loadWritten(dir string, rs []*Remedy, o Options) (*policies.Inventory, map[string]*Remedy, error) {
	inv, err := policies.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	byFile := map[string]*Remedy{}
	for _, r := range rs {
		byFile[filepath.Join(dir, r.FileName(o))] = r
	}
	out := map[string]*Remedy{}
	for _, p := range inv.Policies {
		if r, ok := byFile[p.Source.File]; ok {
			out[p.ID] = r
		}
	}
	return inv, out, nil
}

// policyRemedies maps the policy ids of the remedies written in dir to their remedies, and
// checks that each loads as one executable, enforcing policy.
func policyRemedies(dir string, rs []*Remedy, o Options) (map[string]*Remedy, error) {
	inv, out, err := loadWritten(dir, rs, o)
	if err != nil {
		return nil, err
	}
	for _, p := range inv.Policies {
		r, ok := out[p.ID]
		switch {
		case !ok:
			return nil, fmt.Errorf("internal error: policy %s from %s is no remedy", p.ID, p.Source.File)
		case !p.Verifiable || p.Mode != policies.ModeEnforce:
			return nil, fmt.Errorf("internal error: remedy %s loads as %s %s: %v", r.Name, p.ID, p.Mode, p.Notes)
		}
	}
	if len(out) != len(rs) {
		return nil, fmt.Errorf("internal error: %d remedies load as %d policies", len(rs), len(out))
	}
	return out, nil
}

// asCreated is the object as its create request carries it: an object read or exported from
// a cluster (it has a status, or it comes from the cluster reader) loses the status and, for a
// Pod, the node the scheduler bound it to, which its create did not name.
func asCreated(o policies.Object) map[string]any {
	out := probes.DeepCopy(o.Object)
	_, exported := out["status"]
	if exported || strings.HasPrefix(o.Source.File, "cluster:") {
		delete(out, "status")
		if spec, ok := out["spec"].(map[string]any); ok && out["kind"] == "Pod" {
			delete(spec, "nodeName")
		}
	}
	return out
}

// apiServerManaged reports whether the API server maintains the object (the bootstrap RBAC
// roles and bindings, labelled kubernetes.io/bootstrapping=rbac-defaults): its own writes are
// exempt from the RBAC remedies, so they cost nothing.
func apiServerManaged(obj map[string]any) bool {
	md, _ := obj["metadata"].(map[string]any)
	labels, _ := md["labels"].(map[string]any)
	return labels["kubernetes.io/bootstrapping"] == "rbac-defaults"
}

// hits runs each written remedy on each existing object, as a create in the object's
// namespace (a workload also as the Pod its controller creates).
func hits(ctx context.Context, dir string, rs []*Remedy, o Options, objs []policies.Object) ([]Hit, error) {
	inv, remedyOf, err := loadWritten(dir, rs, o)
	if err != nil {
		return nil, err
	}
	ev, err := policies.NewEvaluator(inv)
	if err != nil {
		return nil, err
	}
	var out []Hit
	for _, p := range inv.Policies {
		r := remedyOf[p.ID]
		if r == nil {
			continue // a file of the user's in the folder
		}
		for _, obj := range objs {
			if apiServerManaged(obj.Object) {
				continue
			}
			kind, _ := obj.Object["kind"].(string)
			meta, _ := obj.Object["metadata"].(map[string]any)
			name, _ := meta["name"].(string)
			ns, _ := meta["namespace"].(string)
			what := kind + " " + name
			if ns != "" {
				what = kind + " " + ns + "/" + name
			}
			probe := probes.Probe{Name: what, Family: "existing", Variant: "existing", Operation: "CREATE", Object: asCreated(obj)}
			e := ev.Evaluate(ctx, p, probe, ns)
			if e.Verdict != policies.VerdictDenied {
				continue
			}
			out = append(out, Hit{Remedy: r.Name, Object: what, Source: obj.Source, Message: strings.Join(e.Messages, "; ")})
		}
	}
	return out, nil
}
