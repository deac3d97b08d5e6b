package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/threatcov/threatcov/analyzer/baseline"
	"github.com/threatcov/threatcov/internal/atomicfile"
	"github.com/threatcov/threatcov/pipeline"
	"github.com/threatcov/threatcov/reports"
)

func newBaselineCmd(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "baseline",
		Short: "Write the baseline the CI gate compares with",
	}
	cmd.AddCommand(newBaselineWriteCmd(s))
	return cmd
}

type baselineWriteOptions struct {
	analysis analysisFlags
}

func newBaselineWriteCmd(s streams) *cobra.Command {
	var o baselineWriteOptions
	cmd := &cobra.Command{
		Use:   "write FILE",
		Short: "Analyse and write the result as a baseline (the JSON report), atomically",
		Long: `Analyse and write the JSON report to FILE: a baseline is the JSON report itself (schema
in docs/report-schema.md), so 'analyze -o json' output serves as well. The file is replaced
atomically: an interrupted run leaves the previous baseline intact. Commit it, and run
'threatcov check --baseline FILE' in CI. The baseline leaves out the day and the generation time, and
policy paths are normalised, so it changes only when coverage does.`,
		Example: `  threatcov baseline write threatcov-baseline.json --policies policies/`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			res, cat, err := pipeline.Run(ctx, o.analysis.config(s))
			if err != nil {
				return err
			}
			stable := baseline.Stable(res)
			if err := atomicfile.Write(args[0], func(w io.Writer) error { return reports.Render(w, "json", stable, cat) }); err != nil {
				return err
			}
			open := "0"
			if res.Summary.Paths.Open != nil {
				open = res.Summary.Paths.Open.String()
			}
			fmt.Fprintf(s.out, "wrote %s: %s open paths\n", args[0], open)
			return nil
		},
	}
	o.analysis.register(cmd, listsPaths) // the baseline leaves the generation time out
	o.analysis.progress = s.err
	return cmd
}

// withRewrite completes a baseline's schema error with the exact command that rewrites it.
func withRewrite(err error, cmd *cobra.Command) error {
	var se *baseline.SchemaError
	if !errors.As(err, &se) {
		return err
	}
	se.Running = version()
	se.Rewrite = rewriteCommand(cmd, se.File)
	return err
}

// rewriteCommand is the 'threatcov baseline write FILE' command with the analysis flags cmd was
// given (the ones 'baseline write' shares), or "" for a command without analysis flags (diff).
func rewriteCommand(cmd *cobra.Command, file string) string {
	if cmd.Flags().Lookup("policies") == nil {
		return ""
	}
	shared := newBaselineWriteCmd(streams{}).Flags()
	args := []string{"threatcov", "baseline", "write", shellQuote(file)}
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if shared.Lookup(f.Name) == nil {
			return
		}
		values := []string{f.Value.String()}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			values = sv.GetSlice()
		}
		for _, v := range values {
			if f.Value.Type() == "bool" {
				args = append(args, "--"+f.Name+"="+v)
				continue
			}
			args = append(args, "--"+f.Name, shellQuote(v))
		}
	})
	return strings.Join(args, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
