package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/analyzer/baseline"
	"github.com/threatcov/threatcov/internal/atomicfile"
	"github.com/threatcov/threatcov/pipeline"
	"github.com/threatcov/threatcov/reports"
)

type checkOptions struct {
	analysis analysisFlags
	out      outputFlags
	baseline string
	minPaths string
	minGoals string
	failOn   []string
	reports  []string // FORMAT=FILE
	// rewrite is the command that writes the baseline again with these analysis flags.
	rewrite string
}

func newCheckCmd(s streams) *cobra.Command {
	var o checkOptions
	cmd := &cobra.Command{
		Use:   "check",
		Short: "CI gate: fail when attack-path coverage regresses or falls below a threshold",
		Long: `Analyse, then apply the gate. Exit 0 when it passes, 1 when it fails, 2 on a usage or
input error.

With --baseline (a JSON report from 'threatcov baseline write' or 'analyze -o json') the
comparison is per path: a path is its sorted step ids, so one path opening while another
closes still fails. Each regression names the policy behind it: removed, switched from
enforce to dryrun/warn/audit, or letting a probe variant through.

--fail-on (repeatable or comma-separated):
  new-open-paths  a path open now was not open in the baseline (default with --baseline)
  new-open-goals  a goal blocked in (or absent from) the baseline is open
  any-open-goal   any goal is open (default without --baseline and thresholds)
Thresholds are percentages of the figures of the report: path coverage = blocked paths / all
paths, goal coverage = blocked goals / goals. An undefined figure (no paths, no goals) does
not fail a threshold; the output says so.`,
		Example: `  threatcov check --policies policies/ --baseline threatcov-baseline.json
  threatcov check --policies policies/ --min-path-coverage 60 --min-goal-coverage 25
  threatcov check --policies policies/ --baseline base.json --fail-on new-open-paths,new-open-goals \
    --report sarif=threatcov.sarif --report junit=threatcov-junit.xml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.baseline != "" {
				o.rewrite = rewriteCommand(cmd, o.baseline)
			}
			return withRewrite(o.run(cmd.Context(), s), cmd)
		},
	}
	o.analysis.register(cmd, listsPaths|stamps) // --timestamp: the --report files
	o.analysis.progress = s.err
	o.out.register(cmd, "table", reports.DiffFormats...)
	fl := cmd.Flags()
	fl.StringVar(&o.baseline, "baseline", "", "baseline JSON report to compare with, per path")
	fl.StringVar(&o.minPaths, "min-path-coverage", "", "fail when path coverage is below this percentage")
	fl.StringVar(&o.minGoals, "min-goal-coverage", "", "fail when goal coverage is below this percentage")
	fl.StringSliceVar(&o.failOn, "fail-on", nil, "failure rules: new-open-paths, new-open-goals, any-open-goal")
	_ = cmd.RegisterFlagCompletionFunc("fail-on", completeValues("new-open-paths", "new-open-goals", "any-open-goal"))
	fl.StringArrayVar(&o.reports, "report", nil, "also write the analysis as FORMAT=FILE, e.g. sarif=threatcov.sarif (repeatable; formats as analyze -o)")
	_ = cmd.RegisterFlagCompletionFunc("report", completeReportFormats)
	return cmd
}

// gate turns the flags into a gate, before any analysis runs, so a typo fails fast (exit 2).
func (o *checkOptions) gate() (baseline.Gate, error) {
	var g baseline.Gate
	var err error
	if o.minPaths != "" {
		if g.MinPathCoverage, err = baseline.ParsePercent(o.minPaths); err != nil {
			return g, fmt.Errorf("--min-path-coverage: %w", err)
		}
	}
	if o.minGoals != "" {
		if g.MinGoalCoverage, err = baseline.ParsePercent(o.minGoals); err != nil {
			return g, fmt.Errorf("--min-goal-coverage: %w", err)
		}
	}
	for _, s := range o.failOn {
		r, err := baseline.ParseRule(s)
		if err != nil {
			return g, err
		}
		g.FailOn = append(g.FailOn, r)
	}
	if len(o.failOn) == 0 {
		g.FailOn = baseline.DefaultRules(o.baseline != "", g.MinPathCoverage != nil || g.MinGoalCoverage != nil)
	}
	g.Rewrite = o.rewrite
	return g, nil
}

// reportFiles parses --report FORMAT=FILE values.
func (o *checkOptions) reportFiles() ([][2]string, error) {
	var out [][2]string
	for _, r := range o.reports {
		format, file, ok := strings.Cut(r, "=")
		if !ok || file == "" || !slices.Contains(reports.Formats, format) {
			return nil, fmt.Errorf("--report %q: use FORMAT=FILE with FORMAT one of %s", r, strings.Join(reports.Formats, ", "))
		}
		out = append(out, [2]string{format, file})
	}
	return out, nil
}

func (o *checkOptions) run(ctx context.Context, s streams) error {
	if err := o.out.validate(); err != nil {
		return err
	}
	files, err := o.reportFiles()
	if err != nil {
		return err
	}
	g, err := o.gate()
	if err != nil {
		return err
	}
	var base *analyzer.Result
	if o.baseline != "" {
		if base, err = baseline.ReadFile(o.baseline); err != nil {
			return err
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	res, cat, err := pipeline.Run(ctx, o.analysis.config(s))
	if err != nil {
		return err
	}
	outcome, err := baseline.Check(base, res, g)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := atomicfile.Write(f[1], func(w io.Writer) error { return reports.Render(w, f[0], res, cat) }); err != nil {
			return err
		}
	}
	if err := o.out.write(s, func(w io.Writer) error { return reports.WriteCheck(w, o.out.format, outcome) }); err != nil {
		return err
	}
	if outcome.Passed {
		return nil
	}
	if o.out.file != "" {
		fmt.Fprintf(s.err, "threatcov check: gate failed (%d failures, see %s)\n", len(outcome.Failures), o.out.file)
	}
	return fmt.Errorf("%w: %d failures", errGateFailed, len(outcome.Failures))
}
