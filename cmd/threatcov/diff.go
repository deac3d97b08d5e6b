package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/analyzer/baseline"
	"github.com/threatcov/threatcov/internal/atomicfile"
	"github.com/threatcov/threatcov/reports"
)

type diffOptions struct {
	out   outputFlags
	quiet bool
}

func newDiffCmd(s streams) *cobra.Command {
	var o diffOptions
	cmd := &cobra.Command{
		Use:   "diff OLD.json NEW.json",
		Short: "Compare two JSON reports: paths and goals opened and closed, figures, and why",
		Long: `Compare two JSON reports (from 'analyze -o json' or 'baseline write') path by path: the
figures before and after, the paths and goals that opened or closed, and the steps whose
status changed with the policy behind each change. -o markdown suits a pull-request comment:
it starts with the hidden marker ` + reports.DiffMarker + ` so a workflow finds its
earlier comment and updates it (docs/ci.md). With --quiet nothing is printed (--file is left
empty) when nothing changed. diff reports and exits 0; use 'threatcov check --baseline' to
fail a build.`,
		Example: `  threatcov diff main.json branch.json
  threatcov diff main.json branch.json -o markdown --quiet --file comment.md`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withRewrite(o.run(s, args), cmd)
		},
	}
	o.out.register(cmd, "table", reports.DiffFormats...)
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print nothing when nothing changed (like conftest --quiet for passing tests)")
	return cmd
}

func (o *diffOptions) run(s streams, args []string) error {
	if err := o.out.validate(); err != nil {
		return err
	}
	before, err := baseline.ReadFile(args[0])
	if err != nil {
		return err
	}
	after, err := baseline.ReadFile(args[1])
	if err != nil {
		return err
	}
	d := baseline.Compare(before, after)
	if o.quiet && d.Unchanged() {
		if o.out.file != "" {
			// Empty, not absent: a stale comment from an earlier run must not be posted.
			return atomicfile.Write(o.out.file, func(io.Writer) error { return nil })
		}
		return nil
	}
	return o.out.write(s, func(w io.Writer) error { return reports.WriteDiff(w, o.out.format, d) })
}
