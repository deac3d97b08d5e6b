package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/pipeline"
	"github.com/threatcov/threatcov/reports"
)

type verifyOptions struct {
	analysis analysisFlags
	out      outputFlags
}

func newVerifyCmd(s streams) *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use: "verify",
		Example: `  threatcov verify --policies examples/platform
  threatcov verify --policies policies/ --namespace apps -o json`,
		Short: "Execute the deployed policies on the attack probes and show every verdict",
		Long: `Show the matrix step x probe x policy with each verdict (denied, admitted,
not-applicable, error) and the resulting step status: blocked (verified or declared),
monitored, bypassed, attested, open or out-of-scope.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			res, _, err := pipeline.Verify(cmd.Context(), o.analysis.config(s))
			if err != nil {
				return err
			}
			return o.out.write(s, func(w io.Writer) error { return reports.Verification(w, o.out.format, res) })
		},
	}
	o.analysis.register(cmd, 0) // statuses only: no paths, no time
	o.analysis.progress = s.err
	o.out.register(cmd, "table", "table", "json")
	return cmd
}

type explainOptions struct {
	analysis analysisFlags
	out      outputFlags
}

func newExplainCmd(s streams) *cobra.Command {
	var o explainOptions
	cmd := &cobra.Command{
		Use:   "explain NODE",
		Short: "Explain why a node is open or blocked: policies, probes, verdicts, open paths",
		Long: `Explain why a node is open or blocked: its policies, probes and verdicts, and the open paths
through it. NODE is a node id, or a node's label as the trees draw it.`,
		Example: `  threatcov explain mce-find-pod-with-hostpid --policies examples/platform
  threatcov explain "Container is running as root" --policies examples/platform -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			cfg := o.analysis.config(s)
			// An unknown node fails before any policy is run.
			cat, err := cfg.LoadTrees()
			if err != nil {
				return err
			}
			n, err := cat.FindNode(args[0])
			if err != nil {
				return err
			}
			res, cat, err := pipeline.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return o.out.write(s, func(w io.Writer) error { return reports.Explain(w, o.out.format, res, cat, n.ID) })
		},
	}
	o.analysis.register(cmd, listsPaths)
	cmd.ValidArgsFunction = completeNode(&o.analysis.trees)
	o.out.register(cmd, "table", "table", "json")
	return cmd
}
