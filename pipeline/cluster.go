package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"k8s.io/client-go/rest"

	"github.com/threatcov/threatcov/cluster"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// Cluster chooses a live cluster to read the policy set from and, for analyses, to probe.
// Nothing reaches the network unless Kubeconfig, Context or FromCluster is set.
type Cluster struct {
	Kubeconfig  string
	Context     string
	FromCluster bool
	// ProbeLive sends every probe to the cluster as a server-side dry-run.
	ProbeLive bool
	// ProbeNamespaces, with ProbeLive, are the namespaces probed and analysed.
	ProbeNamespaces []string

	// Set by Read: the client configuration and the context name of the cluster read.
	config      *rest.Config
	ContextName string
}

// Requested reports whether the user asked for a cluster.
func (c *Cluster) Requested() bool {
	return c.Kubeconfig != "" || c.Context != "" || c.FromCluster
}

// validate checks flag combinations before anything is read.
func (c *Cluster) validate(namespaces []string) error {
	if (c.ProbeLive || len(c.ProbeNamespaces) > 0) && !c.Requested() {
		return errors.New("--probe-live and --probe-namespace need a cluster: add --context NAME, --kubeconfig PATH or --from-cluster")
	}
	if len(c.ProbeNamespaces) > 0 && !c.ProbeLive {
		return errors.New("--probe-namespace is for --probe-live: add --probe-live, or use --namespace to choose the analysed namespaces")
	}
	if len(c.ProbeNamespaces) > 0 && len(namespaces) > 0 {
		return errors.New("--probe-namespace and --namespace both choose the namespaces: use one")
	}
	return nil
}

// Read lists the cluster's policy objects. Progress lines go to progress (nil: none); notes
// about resource types that could not be read go to stderr, always: a skipped type shrinks
// the inventory and must never be silent.
func (c *Cluster) Read(ctx context.Context, progress, stderr io.Writer) ([]policies.Object, error) {
	cfg, name, err := cluster.LoadConfig(c.Kubeconfig, c.Context)
	if err != nil {
		return nil, err
	}
	c.config, c.ContextName = cfg, name
	objs, notes, err := cluster.Read(ctx, cfg, name, progress)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "threatcov: %s\n", n)
	}
	return objs, nil
}

// Workloads lists what the cluster runs that admission policies judge (cluster.ReadWorkloads);
// notes about what could not be listed go to stderr, always.
func (c *Cluster) Workloads(ctx context.Context, progress, stderr io.Writer) ([]policies.Object, error) {
	cfg, name, err := cluster.LoadConfig(c.Kubeconfig, c.Context)
	if err != nil {
		return nil, err
	}
	objs, notes, err := cluster.ReadWorkloads(ctx, cfg, name, progress)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		fmt.Fprintf(stderr, "threatcov: %s\n", n)
	}
	return objs, nil
}

// Inventory reads the cluster and merges its inventory with files (nil when there are none).
func (c *Cluster) Inventory(ctx context.Context, files *policies.Inventory, progress, stderr io.Writer) (*policies.Inventory, error) {
	objs, err := c.Read(ctx, progress, stderr)
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
	return policies.Merge(files, inv)
}

// Prober returns the live prober for the cluster read, with every probe already sent into
// every namespace concurrently (the analyzer then asks one at a time, from the cache), or nil
// without ProbeLive. What the prober could not do as asked (impersonate the controllers that
// create workloads' Pods) goes to stderr, always, once.
func (c *Cluster) Prober(ctx context.Context, ps []probes.Probe, namespaces []string, progress, stderr io.Writer) (*cluster.LiveProber, error) {
	if !c.ProbeLive || c.config == nil {
		return nil, nil
	}
	p, err := cluster.NewLiveProber(c.config)
	if err != nil {
		return nil, err
	}
	begin := time.Now()
	if progress != nil {
		fmt.Fprintf(progress, "cluster %s: dry-running %d probes in %d namespace(s)...\n", c.ContextName, len(ps), len(namespaces))
	}
	p.Prefetch(ctx, ps, namespaces)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if progress != nil {
		fmt.Fprintf(progress, "cluster %s: dry-runs answered in %v\n", c.ContextName, time.Since(begin).Round(time.Millisecond))
	}
	for _, n := range p.Notes() {
		fmt.Fprintf(stderr, "threatcov: %s\n", n)
	}
	return p, nil
}
