package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/probes"
	"gopkg.in/yaml.v3"
)

// TestRunWritesEveryProbe checks the anchors get one manifest per default probe, equal to the
// probe's object apart from the namespace, which is set exactly on namespaced kinds.
func TestRunWritesEveryProbe(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	if code := run([]string{"-namespace", "bench", dir}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	ps, err := probes.Default()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) != len(ps) {
		t.Fatalf("%d files for %d probes", len(files), len(ps))
	}
	for _, p := range ps {
		name := strings.ReplaceAll(p.Name, "/", "__") + ".yaml"
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(data, &obj); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if obj["kind"] != p.Object["kind"] {
			t.Errorf("%s: kind %v, want %v", name, obj["kind"], p.Object["kind"])
		}
		md, _ := obj["metadata"].(map[string]any)
		ns, hasNS := md["namespace"]
		clusterScoped := map[any]bool{"ClusterRole": true, "ClusterRoleBinding": true, "CertificateSigningRequest": true}[p.Object["kind"]]
		switch {
		case clusterScoped && hasNS:
			t.Errorf("%s: cluster-scoped %v got namespace %v", name, p.Object["kind"], ns)
		case !clusterScoped && ns != "bench":
			t.Errorf("%s: namespace %v, want bench", name, ns)
		}
	}
}

func TestWithNamespaceLeavesProbeAlone(t *testing.T) {
	obj := map[string]any{"kind": "Pod", "metadata": map[string]any{"name": "p"}}
	got := withNamespace(obj, "apps")
	if _, set := obj["metadata"].(map[string]any)["namespace"]; set {
		t.Error("withNamespace changed the probe's own metadata")
	}
	if got["metadata"].(map[string]any)["namespace"] != "apps" {
		t.Errorf("namespace not set: %v", got)
	}
}
