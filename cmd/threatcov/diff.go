package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/analyzer/baseline"
	"github.com/threatcov/threatcov/reports"
)

type diffOptions struct {
	out outputFlags
}

func newDiffCmd(s streams) *cobra.Command {
	var o diffOptions
	cmd := &cobra.Command{
		Use:   "diff OLD.json NEW.json",
		Short: "Compare two JSON reports: paths and goals opened and closed, figures, and why",
		Long: `Compare two JSON reports (from 'analyze -o json' or 'baseline write') path by path: the
figures before and after, the paths and goals that opened or closed, and the steps whose
status changed with the policy behind each change. -o markdown suits a pull-request comment.
diff reports and exits 0; use 'threatcov check --baseline' to fail a build.`,
		Example: `  threatcov diff main.json branch.json
  threatcov diff main.json branch.json -o markdown --file comment.md`,
		Args: cobra.ExactArgs(2),
		RunE: func(_ *cobra.Command, args []string) error {
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
			return o.out.write(s, func(w io.Writer) error { return reports.WriteDiff(w, o.out.format, d) })
		},
	}
	o.out.register(cmd, "table", reports.DiffFormats...)
	return cmd
}
