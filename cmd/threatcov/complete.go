package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/reports"
)

// Shell completion (`threatcov completion bash|zsh|fish|powershell`) of tree ids, node ids,
// output formats and gate rules. Ids come from the catalog the command's --trees flags
// select, else the embedded one.

// completeTrees completes tree ids.
func completeTrees(trees *treeFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c := completionCatalog(trees)
		if c == nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, t := range c.Trees() {
			if strings.HasPrefix(t.ID, toComplete) {
				out = append(out, cobra.CompletionWithDesc(t.ID, t.Title))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeNode completes the one node id a command takes.
func completeNode(trees *treeFlags) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		c := completionCatalog(trees)
		if c == nil || len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, n := range c.Nodes() {
			if strings.HasPrefix(n.ID, toComplete) && n.Kind != attacktrees.KindNote {
				out = append(out, cobra.CompletionWithDesc(n.ID, n.Label))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func completionCatalog(trees *treeFlags) *attacktrees.Catalog {
	c, err := trees.load()
	if err != nil {
		return nil
	}
	return c
}

// completeReportFormats completes the FORMAT= part of check --report FORMAT=FILE.
func completeReportFormats(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if strings.Contains(toComplete, "=") {
		return nil, cobra.ShellCompDirectiveDefault
	}
	var out []cobra.Completion
	for _, f := range reports.Formats {
		out = append(out, f+"=")
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// completeValues completes a flag from a fixed list.
func completeValues(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}
