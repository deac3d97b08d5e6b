package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/internal/buildinfo"
)

// version is the module version and commit this binary was built from and the Go version it
// was built with, e.g. "v1.2.3 go1.26.8" or "(devel) (commit 0123456789ab+dirty) go1.26.8".
func version() string {
	v := buildinfo.Version()
	if g := buildinfo.GoVersion(); g != "" {
		v += " " + g
	}
	return v
}

func newVersionCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Example: `  threatcov version`,
		Short:   "Print the threatcov version, commit and Go version it was built with",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(s.out, "threatcov %s\n", version())
			return err
		},
	}
}
