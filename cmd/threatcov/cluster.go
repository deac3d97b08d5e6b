package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"

	"github.com/threatcov/threatcov/cluster"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// clusterFlags choose a live cluster to read the policy set from and, for analyses, to probe.
// Nothing reaches the network unless one of --kubeconfig, --context or --from-cluster is given.
type clusterFlags struct {
	kubeconfig      string
	context         string
	fromCluster     bool
	probeLive       bool
	probeNamespaces []string

	// Set by read: the client configuration and context name of the cluster read.
	config      *rest.Config
	contextName string
}

// register adds the cluster flags; live adds --probe-live and --probe-namespace.
func (f *clusterFlags) register(cmd *cobra.Command, live bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "read the deployed policies from the cluster of this kubeconfig (default as kubectl: KUBECONFIG, ~/.kube/config; docs/cluster.md)")
	fl.StringVar(&f.context, "context", "", "read the deployed policies from the cluster of this kubeconfig context (default: the current context)")
	fl.BoolVar(&f.fromCluster, "from-cluster", false, "read the deployed policies from the cluster of the default kubeconfig and context")
	if live {
		fl.BoolVar(&f.probeLive, "probe-live", false, "send every probe to the cluster as a server-side dry-run (dryRun=All, nothing persisted); admission decides the admission steps")
		fl.StringArrayVar(&f.probeNamespaces, "probe-namespace", nil, "with --probe-live: namespace to probe and analyse (repeatable; instead of --namespace)")
	}
}

// requested reports whether the user asked for the cluster.
func (f *clusterFlags) requested() bool {
	return f.kubeconfig != "" || f.context != "" || f.fromCluster
}

// validate checks flag combinations before anything is read.
func (f *clusterFlags) validate(namespaces []string) error {
	if (f.probeLive || len(f.probeNamespaces) > 0) && !f.requested() {
		return errors.New("--probe-live and --probe-namespace need a cluster: add --context NAME, --kubeconfig PATH or --from-cluster")
	}
	if len(f.probeNamespaces) > 0 && !f.probeLive {
		return errors.New("--probe-namespace is for --probe-live: add --probe-live, or use --namespace to choose the analysed namespaces")
	}
	if len(f.probeNamespaces) > 0 && len(namespaces) > 0 {
		return errors.New("--probe-namespace and --namespace both choose the namespaces: use one")
	}
	return nil
}

// read lists the cluster's policy objects; notes (missing or forbidden resource types) go to
// progress, with the progress lines.
func (f *clusterFlags) read(ctx context.Context, progress io.Writer) ([]policies.Object, error) {
	cfg, name, err := cluster.LoadConfig(f.kubeconfig, f.context)
	if err != nil {
		return nil, err
	}
	f.config, f.contextName = cfg, name
	objs, notes, err := cluster.Read(ctx, cfg, name, progress)
	if err != nil {
		return nil, err
	}
	// A skipped resource type shrinks the inventory: never silent, even for commands that
	// print no progress.
	warn := progress
	if warn == nil {
		warn = os.Stderr
	}
	for _, n := range notes {
		fmt.Fprintf(warn, "threatcov: %s\n", n)
	}
	return objs, nil
}

// inventory reads the cluster and merges its inventory with files (nil when there are
// none). A policy both in the files and the cluster is an error: it would count twice.
func (f *clusterFlags) inventory(ctx context.Context, files *policies.Inventory, progress io.Writer) (*policies.Inventory, error) {
	objs, err := f.read(ctx, progress)
	if err != nil {
		return nil, err
	}
	inv, err := policies.FromObjects(objs)
	if err != nil {
		return nil, err
	}
	if files == nil {
		return inv, nil
	}
	return mergeInventories(files, inv)
}

// mergeInventories joins the inventory of --policies files with the cluster's. Namespaces
// come from the cluster when it has them, with their Pod Security policies: their labels are
// what admission enforces now. Any other policy in both is an error (it would count twice). A
// constraint in one and its template in the other are not joined: read both from one side.
func mergeInventories(files, live *policies.Inventory) (*policies.Inventory, error) {
	inCluster := map[string]bool{}
	for _, ns := range live.Namespaces {
		inCluster[ns.Name] = true
	}
	fromCluster := func(p *policies.Policy) bool {
		if p.Engine != policies.EnginePSA {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(p.ID, "psa:"), "/")
		return inCluster[name]
	}
	merged := &policies.Inventory{}
	ids := map[string]string{}
	for _, p := range files.Policies {
		if !fromCluster(p) {
			ids[p.ID] = p.Source.String()
			merged.Policies = append(merged.Policies, p)
		}
	}
	for _, p := range live.Policies {
		if src, ok := ids[p.ID]; ok {
			return nil, fmt.Errorf("%w: policy %s is both in %s (--policies) and in the cluster (%s): drop one of them, e.g. an exported snapshot of the same cluster", policies.ErrInput, p.ID, src, p.Source)
		}
		merged.Policies = append(merged.Policies, p)
	}
	sort.SliceStable(merged.Policies, func(i, j int) bool { return merged.Policies[i].ID < merged.Policies[j].ID })
	merged.Namespaces = append(merged.Namespaces, live.Namespaces...)
	for _, ns := range files.Namespaces {
		if !inCluster[ns.Name] {
			merged.Namespaces = append(merged.Namespaces, ns)
		}
	}
	sort.SliceStable(merged.Namespaces, func(i, j int) bool { return merged.Namespaces[i].Name < merged.Namespaces[j].Name })
	merged.Skipped = append(append(merged.Skipped, files.Skipped...), live.Skipped...)
	return merged, nil
}

// prober returns the live prober for the cluster read, with every probe already sent into
// every namespace concurrently (the analyzer then asks one at a time, from the cache), or nil
// without --probe-live.
func (f *clusterFlags) prober(ctx context.Context, ps []probes.Probe, namespaces []string, progress io.Writer) (*cluster.LiveProber, error) {
	if !f.probeLive || f.config == nil {
		return nil, nil
	}
	p, err := cluster.NewLiveProber(f.config)
	if err != nil {
		return nil, err
	}
	begin := time.Now()
	if progress != nil {
		fmt.Fprintf(progress, "cluster %s: dry-running %d probes in %d namespace(s)...\n", f.contextName, len(ps), len(namespaces))
	}
	p.Prefetch(ctx, ps, namespaces)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if progress != nil {
		fmt.Fprintf(progress, "cluster %s: dry-runs answered in %v\n", f.contextName, time.Since(begin).Round(time.Millisecond))
	}
	return p, nil
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
			if !o.cluster.requested() {
				return errors.New("policies export needs a cluster: add --context NAME, --kubeconfig PATH or --from-cluster")
			}
			objs, err := o.cluster.read(cmd.Context(), s.err)
			if err != nil {
				return err
			}
			paths, err := cluster.Export(o.dir, objs)
			if err != nil {
				return err
			}
			fmt.Fprintf(s.err, "threatcov: wrote %d files from cluster %s to %s\n", len(paths), o.cluster.contextName, o.dir)
			return nil
		},
	}
	o.cluster.register(cmd, false)
	cmd.Flags().StringVar(&o.dir, "dir", "", "folder to write the files into (created if missing)")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}
