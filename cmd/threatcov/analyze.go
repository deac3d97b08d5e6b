package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/analyzer/baseline"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
	"github.com/threatcov/threatcov/reports"
)

// analysisFlags are the inputs of an analysis, shared by analyze, verify, explain, check,
// baseline, render and serve.
type analysisFlags struct {
	trees      treeFlags
	policies   []string
	mappings   []string
	probes     []string
	namespaces []string
	strict     bool
	maxPaths   int
	timeout    time.Duration
	date       string
	timestamp  bool
	progress   io.Writer
	// stepsOnly skips paths and figures: for commands that show step statuses only.
	stepsOnly bool
	cluster   clusterFlags
}

func (f *analysisFlags) register(cmd *cobra.Command) {
	f.trees.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.policies, "policies", nil, "deployed policy file or folder: Rego, Gatekeeper, Kyverno, Namespaces, VAPs (repeatable)")
	fl.StringArrayVar(&f.mappings, "mapping", nil, "mapping file applied over the default mapping (repeatable; later files win per node)")
	fl.StringArrayVar(&f.probes, "probes", nil, "extra probe family file or folder (repeatable)")
	fl.StringArrayVar(&f.namespaces, "namespace", nil, "namespace the attacker can create workloads in (repeatable; default: the policy set's non-system namespaces, else default)")
	fl.BoolVar(&f.strict, "strict", false, "treat mapping warnings (unknown nodes or labels) as errors")
	fl.IntVar(&f.maxPaths, "max-paths", analyzer.DefaultMaxPaths, "open paths listed per goal (the rest are counted)")
	fl.DurationVar(&f.timeout, "policy-timeout", policies.DefaultTimeout, "time limit for one policy evaluation")
	fl.StringVar(&f.date, "date", "", "judge attestation expiry on this day (YYYY-MM-DD; default today, UTC)")
	fl.BoolVar(&f.timestamp, "timestamp", false, "record the generation time in the report (reports are otherwise byte-identical for the same inputs)")
	f.cluster.register(cmd, true)
}

// inputs loads everything an analysis reads. Problems with the user's files come back as
// errors naming the file and line.
func (f *analysisFlags) inputs(ctx context.Context) (*analyzer.Input, error) {
	if err := f.cluster.validate(f.namespaces); err != nil {
		return nil, err
	}
	// The policies load and compile while the trees, probes and mapping load: neither needs
	// the other, and on the example each takes 30-40 ms, which now overlap on two cores.
	// The channel is buffered so an early return here does not strand the goroutine.
	loaded := make(chan policySet, 1)
	go func() { loaded <- f.loadPolicies() }()
	cat, err := f.trees.load()
	if err != nil {
		return nil, err
	}
	ps, err := probes.Default()
	if err != nil {
		return nil, fmt.Errorf("load default probes: %w", err)
	}
	if len(f.probes) > 0 {
		extra, err := probes.Load(f.probes...)
		if err != nil {
			return nil, err
		}
		ps = append(ps, extra...)
	}
	var files []*mapping.File
	for _, path := range f.mappings {
		mf, err := mapping.ReadFile(path)
		if err != nil {
			return nil, err
		}
		files = append(files, mf)
	}
	mp, err := mapping.ResolveDefault(cat, ps, f.strict, files...)
	if err != nil {
		return nil, err
	}
	pset := <-loaded
	if pset.err != nil {
		return nil, pset.err
	}
	inv, ev := pset.inv, pset.ev
	if f.cluster.requested() {
		var files *policies.Inventory
		if len(f.policies) > 0 {
			files = inv
		}
		if inv, err = f.cluster.inventory(ctx, files, f.progress); err != nil {
			return nil, err
		}
		inv.Resolve("") // builds the reference index now, before evaluation goes parallel
		if ev, err = policies.NewEvaluator(inv, policies.WithTimeout(f.timeout)); err != nil {
			return nil, err
		}
	}
	undeployed := mp.CheckDeployed(func(ref string) bool { return len(inv.Resolve(ref)) > 0 })
	if f.strict && len(undeployed) > 0 {
		return nil, fmt.Errorf("--strict: %s", strings.Join(undeployed, "\n"))
	}
	mp.Warnings = append(mp.Warnings, undeployed...)
	if f.progress != nil {
		for _, w := range mp.Warnings {
			fmt.Fprintf(f.progress, "warning: %s\n", w)
		}
	}
	now := time.Now().UTC()
	if f.date != "" {
		if now, err = time.Parse(time.DateOnly, f.date); err != nil {
			return nil, fmt.Errorf("--date %q: use YYYY-MM-DD", f.date)
		}
	}
	in := &analyzer.Input{Catalog: cat, Mapping: mp, Probes: ps, Inventory: inv, Evaluator: ev,
		Namespaces: f.namespaces, MaxPaths: f.maxPaths, Now: now}
	if len(f.cluster.probeNamespaces) > 0 {
		in.Namespaces = f.cluster.probeNamespaces
	}
	if f.cluster.probeLive {
		namespaces := in.Namespaces
		if len(namespaces) == 0 {
			namespaces = analyzer.DefaultNamespaces(inv)
		}
		prober, err := f.cluster.prober(ctx, ps, namespaces, f.progress)
		if err != nil {
			return nil, err
		}
		if prober != nil {
			in.Live = prober
		}
	}
	if len(in.Namespaces) == 0 {
		in.Namespaces = analyzer.DefaultNamespaces(inv)
	}
	if f.timestamp {
		in.Stamp = time.Now().UTC().Truncate(time.Second)
	}
	in.Sources.Policies = append([]string{}, f.policies...)
	if f.cluster.contextName != "" {
		in.Sources.Policies = append(in.Sources.Policies, "cluster:"+f.cluster.contextName)
	}
	in.Sources.Mapping = append([]string{mapping.DefaultFile}, f.mappings...)
	return in, nil
}

// policySet is the policies read from --policies files and, unless they come from a cluster
// too, their compiled evaluator.
type policySet struct {
	inv *policies.Inventory
	ev  *policies.Evaluator
	err error
}

// loadPolicies reads and compiles the --policies files. With a cluster, the evaluator is built
// once the cluster's policies are merged in.
func (f *analysisFlags) loadPolicies() policySet {
	inv := &policies.Inventory{}
	if len(f.policies) > 0 {
		var err error
		if inv, err = policies.Load(f.policies...); err != nil {
			return policySet{err: err}
		}
	}
	if f.cluster.requested() {
		return policySet{inv: inv}
	}
	if len(f.policies) > 0 && len(inv.Policies) == 0 && len(inv.Namespaces) == 0 {
		return policySet{err: fmt.Errorf("no policies found in %s (%d files skipped, see 'threatcov policies list'): point --policies at Rego, Gatekeeper, Kyverno, Namespace or ValidatingAdmissionPolicy files", strings.Join(f.policies, ", "), len(inv.Skipped))}
	}
	ev, err := policies.NewEvaluator(inv, policies.WithTimeout(f.timeout))
	return policySet{inv: inv, ev: ev, err: err}
}

// run loads the inputs and analyses them.
func (f *analysisFlags) run(ctx context.Context) (*analyzer.Result, *attacktrees.Catalog, error) {
	in, err := f.inputs(ctx)
	if err != nil {
		return nil, nil, err
	}
	if f.progress != nil {
		fmt.Fprintf(f.progress, "analysing %d trees against %d policies in %d namespace(s)...\n", len(in.Catalog.Trees()), len(in.Inventory.Policies), len(in.Namespaces))
	}
	in.StepsOnly = f.stepsOnly
	res, err := analyzer.Analyze(ctx, *in)
	if err != nil {
		return nil, nil, err
	}
	return res, in.Catalog, nil
}

// runOrRead analyses, or with a report path reads that saved analysis instead, after checking
// it covers every tree and node of the catalog the tree flags select.
func (f *analysisFlags) runOrRead(ctx context.Context, report string) (*analyzer.Result, *attacktrees.Catalog, error) {
	if report == "" {
		return f.run(ctx)
	}
	cat, err := f.trees.load()
	if err != nil {
		return nil, nil, err
	}
	res, err := baseline.ReadFile(report)
	if err != nil {
		return nil, nil, err
	}
	if err := reports.CheckCovers(cat, res); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", report, err)
	}
	return res, cat, nil
}

type analyzeOptions struct {
	analysis analysisFlags
	out      outputFlags
}

func newAnalyzeCmd(s streams) *cobra.Command {
	var o analyzeOptions
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Report which attack paths remain open under the deployed policies",
		Long: `Analyse the attack trees against the deployed policies: execute the policies on the
attack ps, compute every step's status, count the open attack paths per goal, and report
coverage figures, open paths (shortest first) and recommendations.`,
		Example: `  threatcov analyze --policies examples/platform
  threatcov analyze --policies policies/ -o json --file report.json
  threatcov analyze --policies policies/ -o sarif --file threatcov.sarif`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			res, cat, err := o.analysis.run(cmd.Context())
			if err != nil {
				return err
			}
			return o.out.write(s, func(w io.Writer) error { return reports.Render(w, o.out.format, res, cat) })
		},
	}
	o.analysis.register(cmd)
	o.analysis.progress = s.err
	o.out.register(cmd, "table", reports.Formats...)
	return cmd
}
