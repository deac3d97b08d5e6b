package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/attacktrees/adtool"
	"github.com/threatcov/threatcov/attacktrees/openpsa"
)

type treesImportOptions struct {
	format string
	out    outputFlags
}

// importers read other attack-tree and fault-tree formats into the tree schema.
var importers = map[string]func(io.Reader, string) (*attacktrees.Tree, error){
	"openpsa": openpsa.Import,
	"adtool":  adtool.Import,
}

func newTreesImportCmd(s streams) *cobra.Command {
	var o treesImportOptions
	cmd := &cobra.Command{
		Use: "import --format openpsa|adtool FILE",
		Example: `  threatcov trees import --format openpsa model.xml > model.yaml
  threatcov trees import --format adtool tree.xml --file tree.yaml`,
		Short: "Convert an Open-PSA MEF fault tree or an ADTool attack tree into the tree schema (YAML)",
		Long: `Convert an Open-PSA MEF fault tree (and, or, atleast gates, gate and basic-event
references) or an ADTool XML attack tree into threatcov's tree schema, written as YAML to
standard output or --file. The result is validated like any tree file; not/xor gates and
countermeasures are rejected with a message naming the file and line.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			imp, ok := importers[o.format]
			if !ok {
				return fmt.Errorf("unknown import format %q: use openpsa or adtool", o.format)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return fmt.Errorf("import: %w", err)
			}
			defer f.Close()
			t, err := imp(f, args[0])
			if err != nil {
				return err
			}
			if _, err := attacktrees.Build([]*attacktrees.Tree{t}); err != nil {
				return err
			}
			return o.out.write(s, func(w io.Writer) error { return attacktrees.WriteYAML(w, t) })
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "", "input format: openpsa or adtool")
	_ = cmd.MarkFlagRequired("format")
	_ = cmd.RegisterFlagCompletionFunc("format", completeValues("openpsa", "adtool"))
	o.out.register(cmd, "yaml", "yaml")
	return cmd
}
