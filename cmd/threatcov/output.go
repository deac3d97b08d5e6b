package main

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/internal/atomicfile"
)

// outputFlags are -o/--output and --file, shared by every command that prints a result.
type outputFlags struct {
	format  string
	file    string
	allowed []string
}

// register adds --file, and -o when the command writes more than one format: -o completes
// to the formats the command writes and nothing else.
func (f *outputFlags) register(cmd *cobra.Command, def string, allowed ...string) {
	f.allowed, f.format = allowed, def
	if len(allowed) > 1 {
		cmd.Flags().StringVarP(&f.format, "output", "o", def, "output format: "+strings.Join(allowed, "|"))
		_ = cmd.RegisterFlagCompletionFunc("output", completeValues(allowed...))
	}
	cmd.Flags().StringVar(&f.file, "file", "", "write the output to this file (atomically) instead of standard output")
}

func (f *outputFlags) validate() error {
	if !slices.Contains(f.allowed, f.format) {
		return fmt.Errorf("unknown output format %q: use one of %s", f.format, strings.Join(f.allowed, ", "))
	}
	return nil
}

// write sends produce's output to --file, replacing it atomically, or to standard output.
func (f *outputFlags) write(s streams, produce func(w io.Writer) error) error {
	if f.file == "" {
		// Buffered: the tables write cell by cell (tabwriter), one system call each unbuffered,
		// about 110,000 for verify on the example.
		bw := bufio.NewWriterSize(s.out, 64<<10)
		err := produce(bw)
		if ferr := bw.Flush(); err == nil {
			err = ferr
		}
		return err
	}
	return atomicfile.Write(f.file, produce)
}
