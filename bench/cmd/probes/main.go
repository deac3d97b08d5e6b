// Command probes writes every default probe (probes.Default) as one YAML manifest per
// file into a folder, so conftest and gator read the very objects threatcov verify evaluates.
// bench/run.sh uses it; the files are inputs for the anchors, not probe families threatcov
// could load back.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/threatcov/threatcov/probes"
	"gopkg.in/yaml.v3"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("probes", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ns := fs.String("namespace", "apps", "namespace to place namespaced objects in (threatcov verify --namespace must match)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: probes [-namespace NS] DIR")
		return 2
	}
	dir := fs.Arg(0)
	ps, err := probes.Default()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, p := range ps {
		obj := withNamespace(p.Object, *ns)
		data, err := yaml.Marshal(obj)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
			return 1
		}
		// Family and variant are [a-z0-9-]; "/" becomes "__" to keep one flat folder.
		name := strings.ReplaceAll(p.Name, "/", "__") + ".yaml"
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "wrote %d probes to %s\n", len(ps), dir)
	return 0
}

// withNamespace returns a shallow copy of obj with metadata.namespace set, because the probes
// leave it empty for the evaluator to fill in and the anchors' namespace matching needs one.
// Cluster-scoped kinds keep none.
func withNamespace(obj map[string]any, ns string) map[string]any {
	switch obj["kind"] {
	case "ClusterRole", "ClusterRoleBinding", "Namespace", "CertificateSigningRequest", "Node":
		return obj
	}
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		out[k] = v
	}
	md := map[string]any{}
	if m, ok := obj["metadata"].(map[string]any); ok {
		for k, v := range m {
			md[k] = v
		}
	}
	md["namespace"] = ns
	out["metadata"] = md
	return out
}
