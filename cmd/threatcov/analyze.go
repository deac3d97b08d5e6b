package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/pipeline"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/reports"
)

// analysisFlags are the inputs of an analysis, shared by analyze, verify, explain, check,
// baseline, render and serve: flags that fill one pipeline.Config.
type analysisFlags struct {
	trees    treeFlags
	cfg      pipeline.Config
	cluster  clusterFlags
	progress io.Writer
}

// resultFlags are the analysis flags that only some commands read: a command offers them only
// when its output shows what they change, so --help and completion offer no flag it ignores.
type resultFlags uint8

const (
	// listsPaths: the output lists open paths, so --max-paths changes it.
	listsPaths resultFlags = 1 << iota
	// stamps: the output can carry the generation time, so --timestamp changes it.
	stamps
)

func (f *analysisFlags) register(cmd *cobra.Command, uses resultFlags) {
	f.trees.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.cfg.Policies, "policies", nil, "deployed policy file or folder: Rego, Gatekeeper, Kyverno, Namespaces, VAPs (repeatable)")
	fl.StringArrayVar(&f.cfg.Mappings, "mapping", nil, "mapping file applied over the default mapping (repeatable; later files win per node)")
	fl.StringArrayVar(&f.cfg.Probes, "probes", nil, "extra probe family file or folder (repeatable)")
	fl.StringVar(&f.cfg.BasePod, "base-pod", "", "benign base Pod the embedded probes patch, instead of the embedded one (set one your policies admit: image, labels, security context)")
	fl.StringArrayVar(&f.cfg.Namespaces, "namespace", nil, "namespace the attacker can create workloads in (repeatable; default: every namespace the policy set declares or names, and default, less those attested unusable)")
	fl.BoolVar(&f.cfg.TenantNamespaces, "tenant-namespaces", false, "tenants may create namespaces: also try a new, unlabelled one")
	fl.BoolVar(&f.cfg.Strict, "strict", false, "treat mapping warnings (unknown nodes or labels) as errors")
	fl.DurationVar(&f.cfg.PolicyTimeout, "policy-timeout", policies.DefaultTimeout, "time limit for one policy evaluation")
	fl.StringVar(&f.cfg.Date, "date", "", "judge attestation expiry on this day (YYYY-MM-DD; default today, UTC)")
	if uses&listsPaths != 0 {
		fl.IntVar(&f.cfg.MaxPaths, "max-paths", analyzer.DefaultMaxPaths, "open paths listed per goal (the rest are counted)")
	}
	if uses&stamps != 0 {
		fl.BoolVar(&f.cfg.Timestamp, "timestamp", false, "record the generation time in the report (reports are otherwise byte-identical for the same inputs)")
	}
	f.cluster.register(cmd, true)
}

// config is the pipeline configuration the flags describe; s.err receives what must never be
// silent.
func (f *analysisFlags) config(s streams) pipeline.Config {
	c := f.cfg
	c.Trees, c.TreesMode = f.trees.paths, attacktrees.Mode(f.trees.mode)
	c.Cluster = &f.cluster.c
	c.Progress, c.Stderr = f.progress, s.err
	return c
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
attack probes, compute every step's status, count the open attack paths per goal, and report
coverage figures, open paths (shortest first) and recommendations.`,
		Example: `  threatcov analyze --policies examples/platform
  threatcov analyze --policies policies/ -o json --file report.json
  threatcov analyze --policies policies/ -o sarif --file threatcov.sarif`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			res, cat, err := pipeline.Run(cmd.Context(), o.analysis.config(s))
			if err != nil {
				return err
			}
			return o.out.write(s, func(w io.Writer) error { return reports.Render(w, o.out.format, res, cat) })
		},
	}
	o.analysis.register(cmd, listsPaths|stamps)
	o.analysis.progress = s.err
	o.out.register(cmd, "table", reports.Formats...)
	return cmd
}
