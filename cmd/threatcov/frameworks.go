package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/frameworks"
	"github.com/threatcov/threatcov/pipeline"
	"github.com/threatcov/threatcov/reports"
)

func newFrameworksCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "frameworks",
		Short: "MITRE ATT&CK and Threat Matrix for Kubernetes techniques, with the coverage of their steps",
	}
	cmd.AddCommand(newFrameworksListCmd(s))
	return cmd
}

type frameworksListOptions struct {
	analysis  analysisFlags
	out       outputFlags
	framework []string
	all       bool
}

func newFrameworksListCmd(s streams) *cobra.Command {
	var o frameworksListOptions
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List each technique the mapping names, with its steps, trees and proven coverage",
		Long: `List each MITRE ATT&CK (Enterprise v18.1) and Threat Matrix for Kubernetes technique that a
mapped step instantiates, with the steps and trees behind it and its proven coverage: the steps
blocked by an executed policy or attested, of its steps that admission can address
(docs/frameworks.md). Without --policies nothing is deployed, so every step is open.`,
		Example: `  threatcov frameworks list --policies examples/platform
  threatcov frameworks list --framework threat-matrix -o json
  threatcov frameworks list --framework attack --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			for _, f := range o.framework {
				if !slices.Contains(frameworks.IDs, f) {
					return fmt.Errorf("unknown framework %q: use one of %s", f, strings.Join(frameworks.IDs, ", "))
				}
			}
			res, _, err := pipeline.Run(cmd.Context(), o.analysis.config(s))
			if err != nil {
				return err
			}
			return o.out.write(s, func(w io.Writer) error {
				return reports.WriteFrameworks(w, o.out.format, res, o.framework, o.all)
			})
		},
	}
	o.analysis.register(cmd)
	o.analysis.progress = s.err
	cmd.Flags().StringSliceVar(&o.framework, "framework", frameworks.IDs, "frameworks to list: "+strings.Join(frameworks.IDs, ", "))
	_ = cmd.RegisterFlagCompletionFunc("framework", completeValues(frameworks.IDs...))
	cmd.Flags().BoolVar(&o.all, "all", false, "also list the techniques no step instantiates (the whole framework)")
	o.out.register(cmd, "table", "table", "json")
	return cmd
}
