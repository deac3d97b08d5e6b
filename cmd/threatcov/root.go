package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// streams are the command's standard streams: results go to out, progress and errors to err,
// so the CLI stays pipe-friendly and tests read buffers.
type streams struct {
	in  io.Reader
	out io.Writer
	err io.Writer
}

// Exit codes: the one place they are defined.
const (
	exitOK    = 0
	exitGate  = 1 // a gate (check) failed
	exitInput = 2 // usage or input error
)

// errGateFailed marks a gate failure; everything else that fails is a usage or input error.
var errGateFailed = errors.New("gate failed")

// run executes the CLI and maps its outcome to an exit code.
func run(args []string, s streams) int {
	root := newRootCmd(s)
	root.SetArgs(args)
	err := root.Execute()
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errGateFailed):
		return exitGate
	default:
		fmt.Fprintf(s.err, "threatcov: %v\n", err)
		return exitInput
	}
}

func newRootCmd(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "threatcov",
		Short: "Which attack paths of your threat model remain open under the policies you run",
		Long: `threatcov loads attack trees (the CNCF FSUG Kubernetes threat model by default), maps their
attack steps to admission policies, executes the deployed policies against attack manifests
(probes), and reports which attack paths remain open.

Exit codes: 0 success, 1 a gate failed (check), 2 usage or input error.

Environment: GOGC (threatcov uses 200 unless it is set; see docs/performance.md), TMPDIR
(go-graphviz keeps compiled Graphviz code in $TMPDIR/go-graphviz; on a shared machine point it
at a folder only you can write, see docs/security.md), KUBECONFIG (with the cluster flags).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetVersionTemplate("threatcov {{.Version}}\n")
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())
	})
	root.AddCommand(newTreesCmd(s), newAnalyzeCmd(s), newVerifyCmd(s), newExplainCmd(s), newPoliciesCmd(s), newServeCmd(s), newRenderCmd(s), newCheckCmd(s), newFixCmd(s), newBaselineCmd(s), newDiffCmd(s), newMappingCmd(s), newFrameworksCmd(s), newVersionCmd(s))
	return root
}
