package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/pipeline"
	"github.com/threatcov/threatcov/reports"
)

func newPoliciesCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policies",
		Short: "Inspect the deployed policy set",
	}
	cmd.AddCommand(newPoliciesListCmd(s), newPoliciesExportCmd(s))
	return cmd
}

type policiesListOptions struct {
	paths   []string
	cluster clusterFlags
	out     outputFlags
}

func newPoliciesListCmd(s streams) *cobra.Command {
	var o policiesListOptions
	cmd := &cobra.Command{
		Use: "list",
		Example: `  threatcov policies list --policies examples/platform
  threatcov policies list --context prod -o json`,
		Short: "List the policies found: id, engine, enforcement point, enforcement, scope, source",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			cfg := pipeline.Config{Policies: o.paths, Cluster: &o.cluster.c, Progress: s.err, Stderr: s.err}
			inv, err := cfg.LoadPolicies(cmd.Context())
			if err != nil {
				return err
			}
			return o.out.write(s, func(w io.Writer) error { return reports.Inventory(w, o.out.format, inv) })
		},
	}
	cmd.Flags().StringArrayVar(&o.paths, "policies", nil, "policy file or folder (repeatable)")
	o.cluster.register(cmd, false)
	o.out.register(cmd, "table", "table", "json")
	return cmd
}
