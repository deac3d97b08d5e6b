package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/serve"
)

type serveOptions struct {
	analysis analysisFlags
	addr     string
	watch    bool
}

func newServeCmd(s streams) *cobra.Command { return (&serveOptions{}).command(s) }

// command builds the cobra command whose flags fill o.
func (o *serveOptions) command(s streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Browse the analysis as a local web site: trees, node details, open paths",
		Long: `Analyse as 'threatcov analyze' does and serve the result as a local, read-only web site:
an index of trees and goals with their coverage, each tree's annotated drawing (pan, zoom,
click a node for its status, policies, probe verdicts and open paths), a search over node
labels and refs, a one-path-at-a-time view, and the JSON, SARIF, Markdown and HTML reports.

It listens on loopback (127.0.0.1:8080) unless --addr says otherwise. With --watch it
re-analyses when a file under --policies, --mapping, --probes or --trees changes, and open
pages update by themselves. Stop it with Ctrl-C. See docs/serve.md.`,
		Example: `  threatcov serve --policies examples/platform
  threatcov serve --policies policies/ --mapping mapping.yaml --watch
  threatcov serve --policies policies/ --addr 127.0.0.1:9000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := o.analysis.config(s)
			opts := serve.Options{
				Addr:    o.addr,
				Analyze: serve.Pipeline(cfg),
				Logf:    func(format string, args ...any) { fmt.Fprintf(s.err, format+"\n", args...) },
			}
			if o.watch {
				opts.Watch = cfg.Inputs()
				if len(opts.Watch) == 0 {
					fmt.Fprintln(s.err, "threatcov serve: --watch: no --policies, --mapping, --probes or --trees given, so nothing to watch (the embedded catalog and mapping do not change)")
				}
			}
			// The first analysis runs before signals are caught, so Ctrl-C during it simply
			// ends the process; once serving, it shuts the server down gracefully.
			srv, err := serve.New(opts)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return srv.ListenAndServe(ctx)
		},
	}
	o.analysis.register(cmd, listsPaths|stamps)
	o.analysis.progress = s.err
	cmd.Flags().StringVar(&o.addr, "addr", serve.DefaultAddr, "host:port to listen on (a non-loopback address exposes the analysis to the network)")
	cmd.Flags().BoolVar(&o.watch, "watch", false, "re-analyse when a file under --policies, --mapping, --probes or --trees changes")
	return cmd
}
