package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/pipeline"
)

func newMappingCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mapping",
		Short: "Work with the mapping of steps to probes and expected policies",
	}
	cmd.AddCommand(newMappingSuggestCmd(s))
	return cmd
}

type mappingSuggestOptions struct {
	analysis analysisFlags
	out      outputFlags
}

func newMappingSuggestCmd(s streams) *cobra.Command {
	var o mappingSuggestOptions
	cmd := &cobra.Command{
		Use:   "suggest",
		Short: "Write the policies execution found blocking steps the mapping does not name, as a mapping file",
		Long: `Execute every deployed policy on every probe and write, for each step that some policy
blocks without the mapping naming it, a mapping entry that adds the policy. Review the file,
then pass it with --mapping so reports count those policies as expected.`,
		Example: `  threatcov mapping suggest --policies policies/ --file mapping-suggested.yaml
  threatcov analyze --policies policies/ --mapping mapping-suggested.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			found, err := pipeline.Suggest(cmd.Context(), o.analysis.config(s))
			if err != nil {
				return err
			}
			if err := o.out.write(s, func(w io.Writer) error { return mapping.Suggest(w, found) }); err != nil {
				return err
			}
			fmt.Fprintf(s.err, "threatcov: %d steps have blocking policies the mapping does not name\n", len(found))
			return nil
		},
	}
	o.analysis.register(cmd, 0)
	o.analysis.progress = s.err
	o.out.register(cmd, "yaml", "yaml")
	return cmd
}
