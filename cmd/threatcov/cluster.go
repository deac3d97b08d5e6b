package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/threatcov/threatcov/cluster"
	"github.com/threatcov/threatcov/pipeline"
)

// clusterFlags fill a pipeline.Cluster. Nothing reaches the network unless one of
// --kubeconfig, --context or --from-cluster is given.
type clusterFlags struct{ c pipeline.Cluster }

// register adds the cluster flags; live adds --probe-live and --probe-namespace.
func (f *clusterFlags) register(cmd *cobra.Command, live bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.c.Kubeconfig, "kubeconfig", "", "read the deployed policies from the cluster of this kubeconfig (default as kubectl: KUBECONFIG, ~/.kube/config; docs/cluster.md)")
	fl.StringVar(&f.c.Context, "context", "", "read the deployed policies from the cluster of this kubeconfig context (default: the current context)")
	fl.BoolVar(&f.c.FromCluster, "from-cluster", false, "read the deployed policies from the cluster of the default kubeconfig and context")
	if live {
		fl.BoolVar(&f.c.ProbeLive, "probe-live", false, "send every probe to the cluster as a server-side dry-run (dryRun=All, nothing persisted); admission decides the admission steps")
		fl.StringArrayVar(&f.c.ProbeNamespaces, "probe-namespace", nil, "with --probe-live: namespace to probe and analyse (repeatable; instead of --namespace)")
	}
}

type policiesExportOptions struct {
	cluster clusterFlags
	dir     string
}

func newPoliciesExportCmd(s streams) *cobra.Command {
	var o policiesExportOptions
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the cluster's policy objects as files that --policies reads",
		Long: `Read the deployed policy set from a cluster (Gatekeeper templates and constraints, Kyverno
policies, ValidatingAdmissionPolicies and bindings, Namespaces) and write one YAML file per
object into --dir, so an analysis without cluster access can use the snapshot with --policies.
Files of an earlier export that the cluster no longer has are removed; other files are kept.`,
		Example: `  threatcov policies export --context prod --dir snapshot/
  threatcov analyze --policies snapshot/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !o.cluster.c.Requested() {
				return errors.New("policies export needs a cluster: add --context NAME, --kubeconfig PATH or --from-cluster")
			}
			objs, err := o.cluster.c.Read(cmd.Context(), s.err, s.err)
			if err != nil {
				return err
			}
			paths, err := cluster.Export(o.dir, objs)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.err, "threatcov: wrote %d files from cluster %s to %s\n", len(paths), o.cluster.c.ContextName, o.dir)
			return nil
		},
	}
	o.cluster.register(cmd, false)
	cmd.Flags().StringVar(&o.dir, "dir", "", "folder to write the files into (created if missing)")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}
