package remedies_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/threatcov/threatcov/cluster"
	"github.com/threatcov/threatcov/internal/testcluster"
	"github.com/threatcov/threatcov/pipeline"
	"github.com/threatcov/threatcov/probes"
	"github.com/threatcov/threatcov/remedies"
)

// TestRemediesOnAPIServer loads every remedy, as VAP and binding in deny mode, into a real
// kube-apiserver and sends every probe of the remedies' families, and each one's benign twin,
// as a server-side dry-run (a workload also as the Pod its controller creates): every probe
// must be denied by a VAP and every twin admitted. Ephemeral-container probes are added to a
// Pod created beforehand; CONNECT probes cannot be dry-run and are counted apart.
func TestRemediesOnAPIServer(t *testing.T) {
	c := testcluster.Start(t)
	ctx := t.Context()
	const ns = "remedies"
	if err := c.CreateNamespace(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	ps := defaultProbes(t)
	all, err := remedies.All()
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, r := range all {
		for _, f := range r.Families {
			covered[f] = true
		}
	}
	var attacks []probes.Probe
	twins := map[string]probes.Probe{}
	for _, p := range ps {
		if !covered[p.Family] {
			continue
		}
		attacks = append(attacks, p)
		if p.SubResource == "ephemeralcontainers" && p.OldObject != nil {
			pod := &unstructured.Unstructured{Object: probes.DeepCopy(p.OldObject)}
			pod.SetNamespace(ns)
			if _, err := c.Apply(ctx, pod); err != nil && !strings.Contains(err.Error(), "already exists") {
				t.Fatalf("target pod: %v", err)
			}
		}
		if p.Twin != nil {
			twins[p.Twin.Name] = *p.Twin
		}
	}
	// A Pod on the host network admitted before the policies: it must stay labelable (and so
	// deletable), while changing its image to a tag is judged.
	var old *unstructured.Unstructured
	for _, p := range attacks {
		if p.Name == "host-network/pod" {
			old = &unstructured.Unstructured{Object: probes.DeepCopy(p.Object)}
		}
	}
	if old == nil {
		t.Fatal("no host-network/pod probe")
	}
	// In a namespace of its own: the prober adds ephemeral containers to a Pod it finds.
	const oldNS = "remedies-before"
	if err := c.CreateNamespace(ctx, oldNS, nil); err != nil {
		t.Fatal(err)
	}
	old.SetName("admitted-before")
	old.SetNamespace(oldNS)
	if _, err := c.Apply(ctx, old); err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		data, err := r.Render(testOptions)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ApplyYAML(ctx, data); err != nil {
			t.Fatalf("apply %s: %v\n%s", r.Name, err, data)
		}
	}
	// The API server loads policies through informers after the creates return: wait until
	// a probe of every remedy is denied.
	testcluster.AwaitPolicies(t, "the API server's policies", func() bool {
		prober, err := cluster.NewLiveProber(c.Config)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range all {
			for _, p := range attacks {
				if r.Covers(p.Family) && p.SubResource == "" && p.Operation != "CONNECT" {
					if !prober.DryRun(ctx, p, ns).Denied {
						return false
					}
					break
				}
			}
		}
		return true
	})

	relabelled := old.DeepCopy()
	relabelled.SetLabels(map[string]string{"team": "payments"})
	if _, err := c.Apply(ctx, relabelled); err != nil {
		t.Errorf("labelling a Pod admitted before the policies: %v", err)
	}
	retagged := relabelled.DeepCopy()
	containers, _, _ := unstructured.NestedSlice(retagged.Object, "spec", "containers")
	containers[0].(map[string]any)["image"] = "registry.example/platform/app:latest"
	if err := unstructured.SetNestedSlice(retagged.Object, containers, "spec", "containers"); err != nil {
		t.Fatal(err)
	}
	// The Pod breaks host-namespaces too: which of the two the API server names first varies.
	if _, err := c.Apply(ctx, retagged); err == nil || !strings.Contains(err.Error(), "ValidatingAdmissionPolicy 'threatcov-") {
		t.Errorf("changing the image of a Pod to a tag: %v, want a denial by a reference policy", err)
	}

	prober, err := cluster.NewLiveProber(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	var denied, admitted, skipped int
	for _, p := range attacks {
		v := prober.DryRun(ctx, p, ns)
		switch {
		case strings.HasPrefix(v.Err, cluster.ErrNeedsPod):
			skipped++
		case v.Err != "":
			t.Errorf("%s: the API server answered with an error: %s", p.Name, v.Err)
		case !v.Denied:
			t.Errorf("%s: admitted live: %s", p.Name, v.Message)
		case v.By != "vap":
			t.Errorf("%s: denied live by %s, not a VAP: %s", p.Name, v.By, v.Message)
		default:
			denied++
		}
	}
	for _, name := range slices.Sorted(maps.Keys(twins)) {
		v := prober.DryRun(ctx, twins[name], ns)
		switch {
		case strings.HasPrefix(v.Err, cluster.ErrNeedsPod):
			skipped++
		case v.Err != "":
			t.Errorf("twin %s: the API server answered with an error: %s", name, v.Err)
		case v.Denied:
			t.Errorf("twin %s: denied live: %s", name, v.Message)
		default:
			admitted++
		}
	}
	if denied == 0 || admitted == 0 {
		t.Fatalf("%d probes denied, %d twins admitted: the test proves nothing", denied, admitted)
	}
	t.Logf("%d remedies on a real kube-apiserver: %d probes denied, %d twins admitted, %d not sendable", len(all), denied, admitted, skipped)
}

// TestFixReadsClusterWorkloads: with a cluster, fix reads the policies from it and runs the
// written ones on what it runs too; a Deployment on the host network is named, with where it
// was read, and a bootstrap ClusterRole the API server maintains is not.
func TestFixReadsClusterWorkloads(t *testing.T) {
	c := testcluster.Start(t)
	ctx := t.Context()
	const ns = "shop"
	if err := c.CreateNamespace(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ApplyYAML(ctx, []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: sniffer
  namespace: shop
spec:
  selector:
    matchLabels: {app: sniffer}
  template:
    metadata:
      labels: {app: sniffer}
    spec:
      hostNetwork: true
      containers:
        - name: sniffer
          image: registry.example/tools/sniffer:1.0
`)); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	rep, err := remedies.Fix(ctx, remedies.Config{
		Analysis: pipeline.Config{Cluster: &pipeline.Cluster{Kubeconfig: c.Kubeconfig}, Stderr: &stderr},
		Options:  testOptions,
		Dir:      t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ClusterObjects == 0 {
		t.Fatalf("no object read from the cluster (stderr: %s)", stderr.String())
	}
	found := false
	for _, h := range rep.Hits {
		if h.Remedy == "host-namespaces" && h.Object == "Deployment shop/sniffer" {
			found = true
			if !strings.HasPrefix(h.Source.File, "cluster:") {
				t.Errorf("the hit's source %s does not say it was read from the cluster", h.Source)
			}
		}
		if strings.HasPrefix(h.Object, "ClusterRole system:") || h.Object == "ClusterRole admin" {
			t.Errorf("%s: the API server maintains %s, its writes are exempt", h.Remedy, h.Object)
		}
	}
	t.Logf("%d objects read from the cluster, %d hits", rep.ClusterObjects, len(rep.Hits))
	for _, h := range rep.Hits {
		t.Logf("  %s %s", h.Remedy, h.Object)
	}
	if !found {
		t.Errorf("the host-network Deployment is not named among %d hits: %v", len(rep.Hits), rep.Hits)
	}
}
