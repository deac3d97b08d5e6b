package main

import (
	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/attacktrees"
)

// treeFlags are the flags that choose the attack trees, shared by every command that loads them.
type treeFlags struct {
	paths []string
	mode  string
}

func (f *treeFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.paths, "trees", nil, "attack tree file or folder (repeatable)")
	cmd.Flags().StringVar(&f.mode, "trees-mode", string(attacktrees.ModeAdd), "how --trees combine with the embedded catalog: add or replace")
}

func (f *treeFlags) load() (*attacktrees.Catalog, error) {
	return attacktrees.Load(attacktrees.Mode(f.mode), f.paths...)
}
