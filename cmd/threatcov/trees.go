package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/attacktrees/openpsa"
	"github.com/threatcov/threatcov/reports"
)

func newTreesCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trees",
		Short: "List, show, validate, import and export attack trees",
	}
	cmd.AddCommand(newTreesListCmd(s), newTreesShowCmd(s), newTreesValidateCmd(s), newTreesImportCmd(s), newTreesExportCmd(s))
	return cmd
}

type treesListOptions struct {
	trees treeFlags
	out   outputFlags
}

func newTreesListCmd(s streams) *cobra.Command {
	var o treesListOptions
	cmd := &cobra.Command{
		Use: "list",
		Example: `  threatcov trees list
  threatcov trees list --trees my-trees/ --trees-mode replace`,
		Short: "List the attack trees with their node, leaf and goal counts",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			c, err := o.trees.load()
			if err != nil {
				return err
			}
			return o.out.write(s, func(w io.Writer) error { return writeTreeList(w, c, o.out.format) })
		},
	}
	o.trees.register(cmd)
	o.out.register(cmd, "table", "table", "json")
	return cmd
}

// treeSummary is one row of `trees list`.
type treeSummary struct {
	ID     string `json:"id"`
	Title  string `json:"title"`
	Nodes  int    `json:"nodes"`
	Leaves int    `json:"leaves"`
	Goals  int    `json:"goals"`
}

func writeTreeList(w io.Writer, c *attacktrees.Catalog, format string) error {
	var rows []treeSummary
	for _, t := range c.Trees() {
		leaves := 0
		for _, n := range t.Nodes {
			if c.IsLeaf(n) {
				leaves++
			}
		}
		rows = append(rows, treeSummary{ID: t.ID, Title: t.Title, Nodes: len(t.Nodes), Leaves: leaves, Goals: len(c.Goals(t.ID))})
	}
	if format == "json" {
		return reports.WriteJSON(w, rows)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tNODES\tLEAVES\tGOALS")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", r.ID, r.Title, r.Nodes, r.Leaves, r.Goals)
	}
	return tw.Flush()
}

type treesShowOptions struct {
	trees treeFlags
	out   outputFlags
}

func newTreesShowCmd(s streams) *cobra.Command {
	var o treesShowOptions
	cmd := &cobra.Command{
		Use: "show TREE",
		Example: `  threatcov trees show malicious-code-execution
  threatcov trees show denial-of-service -o yaml`,
		Short: "Show one attack tree as an outline, JSON or YAML",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := o.out.validate(); err != nil {
				return err
			}
			c, err := o.trees.load()
			if err != nil {
				return err
			}
			t, err := c.FindTree(args[0])
			if err != nil {
				return err
			}
			return o.out.write(s, func(w io.Writer) error {
				switch o.out.format {
				case "json":
					return reports.TreeJSON(w, c, t)
				case "yaml":
					return attacktrees.WriteYAML(w, t)
				default:
					return reports.TreeText(w, c, t)
				}
			})
		},
	}
	o.trees.register(cmd)
	o.out.register(cmd, "tree", "tree", "json", "yaml")
	cmd.ValidArgsFunction = completeTrees(&o.trees)
	return cmd
}

func newTreesValidateCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:     "validate FILE...",
		Example: `  threatcov trees validate my-trees/*.yaml`,
		Short:   "Check attack tree files: schema, ids, children, cycles, reachability",
		Long: `Check attack tree files. Each file is checked on its own, then together; subtree
targets that none of them defines are resolved against the embedded catalog. Every problem is
reported as file:line: node "id": what is wrong and what to do.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if _, err := attacktrees.Validate(args...); err != nil {
				return err
			}
			for _, arg := range args {
				fmt.Fprintf(s.out, "%s: ok\n", arg)
			}
			return nil
		},
	}
}

type treesExportOptions struct {
	format string
	trees  treeFlags
	out    outputFlags
}

// exporters write a loaded catalog in another tool's format.
var exporters = map[string]func(io.Writer, *attacktrees.Catalog) error{
	"openpsa": openpsa.Export,
}

func newTreesExportCmd(s streams) *cobra.Command {
	var o treesExportOptions
	cmd := &cobra.Command{
		Use: "export --format openpsa",
		Example: `  threatcov trees export --format openpsa --file catalog.xml
  scram --zbdd catalog.xml`,
		Short: "Write the loaded attack trees as Open-PSA MEF fault trees, one per goal",
		Long: `Write every goal of the loaded catalog (the embedded one, plus or instead of --trees) as an
Open-PSA MEF fault tree, so an independent fault-tree tool such as SCRAM can recount the minimal
attack paths: scram --zbdd catalog.xml. Attack steps are basic events; subtree boxes and
reference cycles between trees are written as threatcov counts them (docs/semantics.md).`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			export, ok := exporters[o.format]
			if !ok {
				return fmt.Errorf("unknown export format %q: use openpsa", o.format)
			}
			if err := o.out.validate(); err != nil {
				return err
			}
			c, err := o.trees.load()
			if err != nil {
				return err
			}
			return o.out.write(s, func(w io.Writer) error { return export(w, c) })
		},
	}
	cmd.Flags().StringVar(&o.format, "format", "", "output format: openpsa")
	_ = cmd.MarkFlagRequired("format")
	_ = cmd.RegisterFlagCompletionFunc("format", completeValues("openpsa"))
	o.trees.register(cmd)
	o.out.register(cmd, "xml", "xml")
	return cmd
}
