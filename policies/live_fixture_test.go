package policies_test

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/threatcov/threatcov/internal/testcluster"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// liveFixture is a policy folder loaded both into a real kube-apiserver and offline.
type liveFixture struct {
	inv        *policies.Inventory
	probes     []probes.Probe
	namespaces []string
}

// loadLiveFixture reads dir offline and applies it to the cluster: namespaces first, each
// with the Pod an ephemeral-container probe is added to (the probes' own benign Pod, so the
// API server sees the object the evaluator sees), then every other file (params, policies,
// LimitRanges, ServiceAccounts).
func loadLiveFixture(t *testing.T, c *testcluster.Cluster, dir string) liveFixture {
	t.Helper()
	ctx := t.Context()
	inv, err := policies.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := probes.Default()
	if err != nil {
		t.Fatal(err)
	}
	var target map[string]any
	for _, p := range ps {
		if p.SubResource == "ephemeralcontainers" && p.OldObject != nil {
			target = p.OldObject
			break
		}
	}
	if target == nil {
		t.Fatal("no ephemeral-container probe among the default probes")
	}
	f := liveFixture{inv: inv, probes: ps}
	for _, ns := range inv.Namespaces {
		f.namespaces = append(f.namespaces, ns.Name)
		if err := c.CreateNamespace(ctx, ns.Name, ns.Labels); err != nil {
			t.Fatal(err)
		}
		pod := &unstructured.Unstructured{Object: deepCopyJSON(t, target)}
		pod.SetNamespace(ns.Name)
		if _, err := c.Apply(ctx, pod); err != nil {
			t.Fatalf("target pod in %s: %v", ns.Name, err)
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if filepath.Base(file) == "namespaces.yaml" {
			continue
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ApplyYAML(ctx, data); err != nil {
			t.Fatalf("apply %s: %v", file, err)
		}
	}
	return f
}
