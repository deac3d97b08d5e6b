package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/internal/atomicfile"
	"github.com/threatcov/threatcov/reports"
)

type renderOptions struct {
	analysis analysisFlags
	dir      string
	format   string
}

func newRenderCmd(s streams) *cobra.Command {
	var o renderOptions
	cmd := &cobra.Command{
		Use:   "render [TREE...]",
		Short: "Draw attack trees as SVG annotated with the analysis: statuses, policies, open paths",
		Long: `Analyse the trees against the deployed policies and draw each tree (all when none is
named) as one SVG file in --dir: gate shapes after the CNCF legend, a status glyph, word and
line style per node, the policies that block each step, open paths' edges thick and dashed,
a legend and the tree's figures. --format dot writes the Graphviz source instead.`,
		Example: `  threatcov render --policies policies/ --dir out/
  threatcov render malicious-code-execution --policies policies/ --dir out/ --format dot`,
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd.Context(), s, args) },
	}
	o.analysis.register(cmd)
	o.analysis.progress = s.err
	cmd.Flags().StringVar(&o.dir, "dir", ".", "folder to write one <tree>.svg (or .dot) per tree into; created if missing")
	cmd.Flags().StringVar(&o.format, "format", "svg", "file format: svg or dot")
	return cmd
}

func (o *renderOptions) run(ctx context.Context, s streams, trees []string) error {
	if o.format != "svg" && o.format != "dot" {
		return fmt.Errorf("unknown --format %q: use svg or dot", o.format)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	res, cat, err := o.analysis.run(ctx)
	if err != nil {
		return err
	}
	if len(trees) == 0 {
		for _, t := range cat.Trees() {
			trees = append(trees, t.ID)
		}
	}
	for _, id := range trees {
		if _, ok := cat.Tree(id); !ok {
			return fmt.Errorf("no tree %q: run 'threatcov trees list' for the tree ids", id)
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
