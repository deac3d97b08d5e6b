package policies

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzLoadFile writes arbitrary bytes as one policy file, once as YAML and once as Rego, and
// loads it the way `--policies` does. Load must return an inventory or an error that wraps
// ErrInput and names the file; whatever loads must compile into an Evaluator and evaluate a
// probe to some verdict, never panic or hang past the time limit.
func FuzzLoadFile(f *testing.F) {
	for _, dir := range []string{"testdata/inventory/gatekeeper", "testdata/inventory/cluster", "testdata/inventory/rego",
		"testdata/hostile", "testdata/broken/yaml", "testdata/broken/rego", "testdata/broken/template"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	for _, s := range []string{
		"",
		"---\n---\n",
		"kind: List\nitems: [~, 3, {kind: Namespace, metadata: {name: x, labels: {pod-security.kubernetes.io/enforce: restricted}}}]\n",
		"package p\n\ndeny contains msg if { msg := input.kind }\n",
		"package p\nimport rego.v1\nviolation[{\"msg\": m}] { m := \"x\" }\n",
		"\x00\x01\x02",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		for _, name := range []string{"policy.yaml", "policy.rego"} {
			file := filepath.Join(dir, name)
			if err := os.WriteFile(file, data, 0o600); err != nil {
				t.Fatal(err)
			}
			inv, err := Load(file)
			os.Remove(file)
			if err != nil {
				if !errors.Is(err, ErrInput) {
					t.Fatalf("error does not wrap ErrInput: %v", err)
				}
				if !strings.Contains(err.Error(), file) {
					t.Fatalf("error does not name %s: %v", file, err)
				}
				continue
			}
			ev, err := NewEvaluator(inv, WithTimeout(100*time.Millisecond))
			if err != nil {
				t.Fatalf("NewEvaluator on a loaded inventory: %v", err)
			}
			for _, p := range inv.Policies {
				if !p.Verifiable {
					continue
				}
				got := ev.Evaluate(context.Background(), p, hostPIDPod, "default")
				if got.Verdict == VerdictError && got.Err == "" {
					t.Fatalf("policy %s: error verdict without a message", p.ID)
				}
			}
		}
	})
}

// TestPolicyFileOverSizeLimit: a policy file over MaxFileSize is refused, naming it, without
// being read whole.
func TestPolicyFileOverSizeLimit(t *testing.T) {
	for _, name := range []string{"big.yaml", "big.rego"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), name)
			f, err := os.Create(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(MaxFileSize + 1); err != nil {
				t.Fatal(err)
			}
			f.Close()
			_, err = Load(filepath.Dir(file))
			want := "invalid policy input: " + file + ": larger than 16 MiB; split it or remove it from --policies"
			if err == nil || err.Error() != want || !errors.Is(err, ErrInput) {
				t.Fatalf("Load: %v, want %s", err, want)
			}
		})
	}
}
