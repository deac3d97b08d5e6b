package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/analyzer/baseline"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// Config is everything an analysis is assembled from: the inputs a user names on the command
// line, and where progress goes. The zero value analyses the embedded catalog, mapping and
// probes against no policies in the default namespace.
type Config struct {
	// Trees are attack tree files or folders, combined with the embedded catalog by TreesMode
	// (empty: add).
	Trees     []string
	TreesMode attacktrees.Mode
	// Policies are the deployed policy files or folders.
	Policies []string
	// Mappings are applied over the default mapping, later files winning per node.
	Mappings []string
	// Probes are extra probe family files or folders.
	Probes []string
	// BasePod, when set, is a file with the benign base Pod the embedded probe families
	// patch, instead of the embedded one.
	BasePod string
	// Namespaces are where the attacker can create workloads (empty: every namespace the
	// policy set declares or names, and default, less those the mapping attests the attacker
	// cannot use; docs/semantics.md, "Namespaces the attacker can use").
	Namespaces []string
	// TenantNamespaces says tenants may create namespaces: a new, unlabelled one is tried too.
	TenantNamespaces bool
	// Strict turns mapping warnings (unknown nodes, undeployed references) into errors.
	Strict   bool
	MaxPaths int
	// PolicyTimeout limits one policy evaluation (0: policies.DefaultTimeout).
	PolicyTimeout time.Duration
	// Date judges attestation expiry (YYYY-MM-DD; empty: today, UTC).
	Date string
	// Timestamp records the generation time in the result.
	Timestamp bool
	// Now, when set, stands for the wall clock: the day attestations are judged on unless
	// Date says otherwise, and the Timestamp. Tests inject it.
	Now time.Time
	// Cluster, when set, reads the deployed policies from a cluster and may probe it live.
	Cluster *Cluster
	// Progress receives progress lines and mapping warnings; nil prints none.
	Progress io.Writer
	// Stderr receives what must never be silent, such as resource types a cluster read
	// skipped; nil discards it (tests).
	Stderr io.Writer
}

func (c Config) stderr() io.Writer {
	if c.Stderr == nil {
		return io.Discard
	}
	return c.Stderr
}

func (c Config) clusterRequested() bool { return c.Cluster != nil && c.Cluster.Requested() }

// Validate checks the combinations of inputs before anything is read, so that a mistake
// costs no work.
func (c Config) Validate() error {
	if c.Cluster != nil {
		if err := c.Cluster.validate(c.Namespaces); err != nil {
			return err
		}
	}
	if c.Date != "" {
		if _, err := time.Parse(time.DateOnly, c.Date); err != nil {
			return fmt.Errorf("--date %q: use YYYY-MM-DD", c.Date)
		}
	}
	return nil
}

// Load reads and compiles every input of an analysis. Problems with the user's files come
// back as errors naming the file and line.
func Load(ctx context.Context, c Config) (*analyzer.Input, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	// Every path a report names (policy sources, mapping lines, tree files, the inputs) then
	// comes out in one spelling, whichever the user typed (SourcePath).
	c.Policies, c.Mappings, c.Trees = sourcePaths(c.Policies), sourcePaths(c.Mappings), sourcePaths(c.Trees)
	// The policies load and compile while the trees, probes and mapping load: neither needs
	// the other, and on the example each takes 30-40 ms, which overlap on two cores. The
	// channel is buffered so an early return here does not strand the goroutine.
	loaded := make(chan policySet, 1)
	go func() { loaded <- c.loadPolicies() }()
	cat, err := c.LoadTrees()
	if err != nil {
		return nil, err
	}
	ps, err := c.loadProbes()
	if err != nil {
		return nil, err
	}
	mp, err := c.loadMapping(cat, ps)
	if err != nil {
		return nil, err
	}
	set := <-loaded
	if set.err != nil {
		return nil, set.err
	}
	inv := set.inv
	if c.clusterRequested() {
		var files *policies.Inventory
		if len(c.Policies) > 0 {
			files = inv
		}
		if inv, err = c.Cluster.Inventory(ctx, files, c.Progress, c.stderr()); err != nil {
			return nil, err
		}
	}
	ps = append(ps, optOutProbes(ps, inv)...)
	ev, err := c.evaluator(inv)
	if err != nil {
		return nil, err
	}
	if err := c.checkDeployed(mp, inv); err != nil {
		return nil, err
	}
	c.warnInputs(inv)
	clock := c.Now
	if clock.IsZero() {
		clock = time.Now()
	}
	now := clock.UTC()
	if c.Date != "" {
		now, _ = time.Parse(time.DateOnly, c.Date) // checked by Validate
	}
	namespaces, unusable := c.namespaces(inv, mp, now)
	in := &analyzer.Input{Catalog: cat, Mapping: mp, Probes: ps, Inventory: inv, Evaluator: ev,
		Namespaces: namespaces, MaxPaths: c.MaxPaths, Now: now}
	in.Sources.NamespacesUnusable = unusable
	if c.Cluster != nil && c.Cluster.ProbeLive {
		prober, err := c.Cluster.Prober(ctx, ps, in.Namespaces, c.Progress, c.stderr())
		if err != nil {
			return nil, err
		}
		if prober != nil {
			in.Live = prober
		}
	}
	if c.Timestamp {
		in.Stamp = clock.UTC().Truncate(time.Second)
	}
	in.Sources.Policies = append([]string{}, c.Policies...)
	if c.clusterRequested() && c.Cluster.ContextName != "" {
		in.Sources.Policies = append(in.Sources.Policies, "cluster:"+c.Cluster.ContextName)
	}
	in.Sources.Mapping = append([]string{mapping.DefaultFile}, c.Mappings...)
	return in, nil
}

func sourcePaths(ps []string) []string {
	if ps == nil {
		return nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = SourcePath(p)
	}
	return out
}

// SourcePath is how a report names an input file or folder: slash-separated and cleaned, and
// relative to the working directory when it lies under it. Paths as typed would make
// "policies", "./policies/" and "$PWD/policies" three reports, and a committed baseline would
// change with the spelling of a CI job (docs/ci.md).
func SourcePath(p string) string {
	if p == "" {
		return p
	}
	p = filepath.Clean(p)
	if filepath.IsAbs(p) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && filepath.IsLocal(rel) {
				p = rel
			}
		}
	}
	return filepath.ToSlash(p)
}

// Run loads the inputs and analyses them.
func Run(ctx context.Context, c Config) (*analyzer.Result, *attacktrees.Catalog, error) {
	return run(ctx, c, analyzer.Analyze)
}

// Verify loads the inputs and computes the step statuses only (`threatcov verify`).
func Verify(ctx context.Context, c Config) (*analyzer.Result, *attacktrees.Catalog, error) {
	return run(ctx, c, analyzer.StepStatuses)
}

func run(ctx context.Context, c Config, analyze func(context.Context, analyzer.Input) (*analyzer.Result, error)) (*analyzer.Result, *attacktrees.Catalog, error) {
	in, err := Load(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, "analysing %d trees against %d policies in %d namespace(s)...\n", len(in.Catalog.Trees()), len(in.Inventory.Policies), len(in.Namespaces))
	}
	res, err := analyze(ctx, *in)
	if err != nil {
		return nil, nil, err
	}
	return res, in.Catalog, nil
}

// RunOrRead analyses, or with a report path reads that saved analysis instead, after checking
// that it covers every tree and node of the catalog the configuration selects.
func RunOrRead(ctx context.Context, c Config, report string) (*analyzer.Result, *attacktrees.Catalog, error) {
	if report == "" {
		return Run(ctx, c)
	}
	cat, err := c.LoadTrees()
	if err != nil {
		return nil, nil, err
	}
	res, err := baseline.ReadFile(report)
	if err != nil {
		return nil, nil, err
	}
	if err := baseline.CheckCovers(cat, res); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", report, err)
	}
	return res, cat, nil
}

// LoadTrees loads the catalog the configuration selects.
func (c Config) LoadTrees() (*attacktrees.Catalog, error) {
	mode := c.TreesMode
	if mode == "" {
		mode = attacktrees.ModeAdd
	}
	return attacktrees.Load(mode, c.Trees...)
}

// LoadPolicies reads the policy files and, when a cluster is configured, the cluster's
// policies merged with them: the inventory `policies list` shows. The policies are prepared
// for execution as an analysis prepares them, so the list says which are executed (Kyverno's
// only where the kyverno CLI is found) and a policy the kyverno CLI refuses is an error here
// too.
func (c Config) LoadPolicies(ctx context.Context) (*policies.Inventory, error) {
	var inv *policies.Inventory
	if len(c.Policies) > 0 {
		var err error
		if inv, err = policies.Load(c.Policies...); err != nil {
			return nil, err
		}
	}
	if c.clusterRequested() {
		var err error
		if inv, err = c.Cluster.Inventory(ctx, inv, c.Progress, c.stderr()); err != nil {
			return nil, err
		}
	}
	if inv == nil {
		return nil, errors.New("say where the policies are: --policies PATH, or a cluster with --context NAME, --kubeconfig PATH or --from-cluster")
	}
	if _, err := c.evaluator(inv); err != nil {
		return nil, err
	}
	return inv, nil
}

func (c Config) loadProbes() ([]probes.Probe, error) {
	ps, err := probes.DefaultWithBase(c.BasePod)
	if err != nil {
		return nil, fmt.Errorf("load default probes: %w", err)
	}
	if len(c.Probes) > 0 {
		extra, err := probes.Load(c.Probes...)
		if err != nil {
			return nil, err
		}
		ps = append(ps, extra...)
	}
	return ps, nil
}

func (c Config) loadMapping(cat *attacktrees.Catalog, ps []probes.Probe) (*mapping.Mapping, error) {
	var files []*mapping.File
	for _, path := range c.Mappings {
		mf, err := mapping.ReadFile(path)
		if err != nil {
			return nil, err
		}
		files = append(files, mf)
	}
	return mapping.ResolveDefault(cat, ps, c.Strict, files...)
}

// optOutProbes are the variants of every probe that carry the labels and annotations the
// deployed policies exempt by.
func optOutProbes(ps []probes.Probe, inv *policies.Inventory) []probes.Probe {
	labels, annotations := map[string]string{}, map[string]string{}
	for _, o := range inv.OptOuts() {
		if o.Annotation {
			annotations[o.Key] = o.Value
		} else {
			labels[o.Key] = o.Value
		}
	}
	return probes.WithOptOuts(ps, labels, annotations)
}

// policySet is the policies read from the policy files, or the error reading them.
type policySet struct {
	inv *policies.Inventory
	err error
}

// loadPolicies reads the policy files; with a cluster, they are merged into the cluster's
// inventory later.
func (c Config) loadPolicies() policySet {
	inv := &policies.Inventory{}
	if len(c.Policies) > 0 {
		var err error
		if inv, err = policies.Load(c.Policies...); err != nil {
			return policySet{err: err}
		}
	}
	if !c.clusterRequested() && len(c.Policies) > 0 && len(inv.Policies) == 0 && len(inv.Namespaces) == 0 {
		return policySet{err: fmt.Errorf("no policies found in %s (%d files skipped, see 'threatcov policies list'): point --policies at Rego, Gatekeeper, Kyverno, Namespace or ValidatingAdmissionPolicy files", strings.Join(c.Policies, ", "), len(inv.Skipped))}
	}
	return policySet{inv: inv}
}

// evaluator compiles the inventory once, whatever its source.
func (c Config) evaluator(inv *policies.Inventory) (*policies.Evaluator, error) {
	inv.Resolve("") // builds the reference index now, before evaluation goes parallel
	timeout := c.PolicyTimeout
	if timeout <= 0 {
		timeout = policies.DefaultTimeout
	}
	opts := []policies.Option{policies.WithTimeout(timeout)}
	if inv.HasKyverno() {
		if bin, err := policies.KyvernoBinary(); err != nil {
			// Said once per run: every Kyverno policy is then read statically, never credited
			// from its name (docs/policies.md, "Kyverno: executed by the kyverno CLI").
			fmt.Fprintf(c.stderr(), "warning: %v; Kyverno policies are read statically, not executed\n", err)
		} else {
			opts = append(opts, policies.WithKyverno(bin))
		}
	}
	return policies.NewEvaluator(inv, opts...)
}

// checkDeployed adds a warning for each user mapping reference that names no deployed policy
// (an error under Strict), and prints the mapping's warnings as progress.
func (c Config) checkDeployed(mp *mapping.Mapping, inv *policies.Inventory) error {
	undeployed := mp.CheckDeployed(func(ref string) bool { return len(inv.Resolve(ref)) > 0 })
	if c.Strict && len(undeployed) > 0 {
		return fmt.Errorf("--strict: %s", strings.Join(undeployed, "\n"))
	}
	mp.Warnings = append(mp.Warnings, undeployed...)
	if c.Progress != nil {
		for _, w := range mp.Warnings {
			fmt.Fprintf(c.Progress, "warning: %s\n", w)
		}
	}
	return nil
}

// TenantNamespace is the name of the new, unlabelled namespace tried when tenants may create
// namespaces: no Namespace object declares it, so no label-based policy selects it.
const TenantNamespace = "threatcov-new-tenant"

// warnInputs says, on Stderr, what makes an analysis say less than the user may think: no
// policy set at all, and a --namespace that nothing declares or names.
func (c Config) warnInputs(inv *policies.Inventory) {
	w := c.stderr()
	if len(c.Policies) == 0 && !c.clusterRequested() {
		fmt.Fprintln(w, "threatcov: no --policies and no cluster: nothing is deployed, so no step is blocked by a policy; point --policies at your policy set")
	}
	known := inv.AttackerNamespaces()
	for _, ns := range c.Namespaces {
		if !slices.Contains(known, ns) {
			fmt.Fprintf(w, "threatcov: --namespace %s: no Namespace object declares it and no policy names it, so it has no labels (Pod Security, namespace selectors); check the name\n", ns)
		}
	}
}

// namespaces are where probes are placed: the live prober's own namespaces, else the
// configured ones, else every namespace the attacker can use less those attested unusable
// at now (returned second).
func (c Config) namespaces(inv *policies.Inventory, mp *mapping.Mapping, now time.Time) (use, unusable []string) {
	switch {
	case c.Cluster != nil && len(c.Cluster.ProbeNamespaces) > 0:
		return c.Cluster.ProbeNamespaces, nil
	case len(c.Namespaces) > 0:
		return c.Namespaces, nil
	}
	attested := mp.UnusableNamespaces(now)
	for _, ns := range inv.AttackerNamespaces() {
		if slices.Contains(attested, ns) {
			unusable = append(unusable, ns)
		} else {
			use = append(use, ns)
		}
	}
	if c.TenantNamespaces {
		use = append(use, TenantNamespace)
	}
	return use, unusable
}

// Inputs are the user's input files and folders: what a re-analysis reads anew, and what
// `serve --watch` watches.
func (c Config) Inputs() []string {
	var paths []string
	paths = append(paths, c.Trees...)
	paths = append(paths, c.Policies...)
	paths = append(paths, c.Mappings...)
	paths = append(paths, c.Probes...)
	if c.BasePod != "" {
		paths = append(paths, c.BasePod)
	}
	return paths
}

// Suggest analyses the step statuses and returns, per step, the deployed policies that
// execution showed blocking it but that the mapping does not name (`threatcov mapping
// suggest`).
func Suggest(ctx context.Context, c Config) ([]mapping.Discovered, error) {
	in, err := Load(ctx, c)
	if err != nil {
		return nil, err
	}
	res, err := analyzer.StepStatuses(ctx, *in)
	if err != nil {
		return nil, err
	}
	var out []mapping.Discovered
	for _, s := range res.Steps {
		if step := in.Mapping.Step(s.Node); step != nil && len(s.Discovered) > 0 {
			out = append(out, mapping.Discovered{Step: step, Policies: s.Discovered})
		}
	}
	return out, nil
}
