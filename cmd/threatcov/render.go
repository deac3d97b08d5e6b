package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/threatcov/threatcov/internal/atomicfile"
	"github.com/threatcov/threatcov/pipeline"
	"github.com/threatcov/threatcov/reports"
)

type renderOptions struct {
	analysis analysisFlags
	dir      string
	format   string
	report   string
}

func newRenderCmd(s streams) *cobra.Command {
	var o renderOptions
	cmd := &cobra.Command{
		Use:   "render [TREE...]",
		Short: "Draw attack trees as SVG annotated with the analysis: statuses, policies, open paths",
		Long: `Analyse the trees against the deployed policies and draw each tree (all when none is
named) as one SVG file in --dir: gate shapes after the CNCF legend, a status glyph, word and
line style per node, the policies that block each step, open paths' edges thick and dashed,
a legend and the tree's figures. --format dot writes the Graphviz source instead.

--report draws a saved JSON report (analyze -o json) instead of analysing again, e.g. the
report a CI job kept: no policy is loaded or run, so it takes a fraction of the time. Pass the
same --trees and --trees-mode as the analysis that wrote it.`,
		Example: `  threatcov render --policies policies/ --dir out/
  threatcov render malicious-code-execution --policies policies/ --dir out/ --format dot
  threatcov analyze --policies policies/ -o json --file report.json
  threatcov render --report report.json --dir out/`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.report != "" {
				if err := onlyTreeFlags(cmd, "--report"); err != nil {
					return err
				}
			}
			return o.run(cmd.Context(), s, args)
		},
	}
	o.analysis.register(cmd, 0) // the drawings count open paths, list none, carry no time
	cmd.ValidArgsFunction = completeTrees(&o.analysis.trees)
	o.analysis.progress = s.err
	cmd.Flags().StringVar(&o.dir, "dir", ".", "folder to write one <tree>.svg (or .dot) per tree into; created if missing")
	cmd.Flags().StringVar(&o.format, "format", "svg", "file format: svg or dot")
	_ = cmd.RegisterFlagCompletionFunc("format", completeValues("svg", "dot"))
	cmd.Flags().StringVar(&o.report, "report", "", "draw this JSON report (analyze -o json) instead of analysing; only --trees and --trees-mode apply")
	return cmd
}

// onlyTreeFlags refuses analysis flags next to a flag that replaces the analysis (what, e.g.
// "--report"): they would be ignored, and a user who passed them expects them to count.
func onlyTreeFlags(cmd *cobra.Command, what string) error {
	var set []string
	cmd.Flags().Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "trees", "trees-mode", "dir", "format", "report":
		default:
			set = append(set, "--"+f.Name)
		}
	})
	if len(set) > 0 {
		return fmt.Errorf("%s draws a saved analysis, so %s would be ignored: drop them, or drop %s to analyse again", what, strings.Join(set, ", "), what)
	}
	return nil
}

func (o *renderOptions) run(ctx context.Context, s streams, trees []string) error {
	if o.format != "svg" && o.format != "dot" {
		return fmt.Errorf("unknown --format %q: use svg or dot", o.format)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	cfg := o.analysis.config(s)
	// A mistyped tree id fails before any policy is run.
	cat, err := cfg.LoadTrees()
	if err != nil {
		return err
	}
	for _, id := range trees {
		if _, err := cat.FindTree(id); err != nil {
			return err
		}
	}
	res, cat, err := pipeline.RunOrRead(ctx, cfg, o.report)
	if err != nil {
		return err
	}
	if len(trees) == 0 {
		for _, t := range cat.Trees() {
			trees = append(trees, t.ID)
		}
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return fmt.Errorf("create --dir: %w", err)
	}
	for _, id := range trees {
		var data []byte
		if o.format == "dot" {
			data, err = reports.TreeDOT(cat, res, id)
		} else {
			data, err = reports.TreeSVG(ctx, cat, res, id)
		}
		if err != nil {
			return err
		}
		path := filepath.Join(o.dir, id+"."+o.format)
		if err := atomicfile.WriteBytes(path, data); err != nil {
			return err
		}
		fmt.Fprintln(s.out, path)
	}
	return nil
}
