package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/policies"
)

// TestRecommendationsSimulated: a recommendation threatcov re-analysed says so, and applying
// the change to the files for real closes exactly the steps it promised. The example's label
// recommendation is applied as namespace labels and its enforce recommendation as the
// constraint's enforcementAction; each is a fresh analysis of a copy of the example.
func TestRecommendationsSimulated(t *testing.T) {
	const example = "../examples/platform"
	run := func(dir string) *analyzer.Result {
		t.Helper()
		res, _, err := Run(context.Background(), Config{Policies: []string{dir}, Date: "2026-12-01"})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	before := run(example)
	byAction := map[string]analyzer.Recommendation{}
	for _, rec := range before.Recommendations {
		if rec.Established == analyzer.EstablishedSimulated {
			if _, seen := byAction[rec.Action]; !seen {
				byAction[rec.Action] = rec
			}
		}
		if rec.Action == "deploy" && rec.Source == "" {
			t.Errorf("recommendation %d deploys %s with no public source", rec.Rank, rec.Policy)
		}
	}
	for _, action := range []string{"label", "enforce"} {
		rec, ok := byAction[action]
		if !ok {
			t.Errorf("no simulated %q recommendation on the example", action)
			continue
		}
		t.Run(action, func(t *testing.T) {
			dir := t.TempDir()
			copyTree(t, example, dir)
			switch action {
			case "label":
				// "label namespaces a, b, c pod-security.kubernetes.io/enforce=LEVEL ..."
				fields := strings.Fields(strings.TrimPrefix(strings.TrimPrefix(rec.Change, "label namespaces "), "label namespace "))
				var nss []string
				var label string
				for _, f := range fields {
					if strings.HasPrefix(f, policies.PSAEnforceLabel+"=") {
						label = f
						break
					}
					nss = append(nss, strings.TrimSuffix(f, ","))
				}
				key, level, _ := strings.Cut(label, "=")
				var extra strings.Builder
				for _, ns := range nss {
					if ns == "apps" { // declared by the example: label it there
						editFile(t, filepath.Join(dir, "namespaces.yaml"), "    kubernetes.io/metadata.name: apps\n",
							"    kubernetes.io/metadata.name: apps\n    "+key+": "+level+"\n")
						continue
					}
					extra.WriteString("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + ns + "\n  labels:\n    " + key + ": " + level + "\n")
				}
				if err := os.WriteFile(filepath.Join(dir, "labels.yaml"), []byte(extra.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			case "enforce":
				file, _, _ := strings.Cut(rec.Location, ":")
				rel, err := filepath.Rel(example, file)
				if err != nil {
					t.Fatal(err)
				}
				editFile(t, filepath.Join(dir, rel), "enforcementAction: dryrun", "enforcementAction: deny")
			}
			after := map[string]analyzer.Status{}
			for _, s := range run(dir).Steps {
				after[s.Node] = s.Status
			}
			for _, step := range rec.Steps {
				if !after[step].Closes() {
					t.Errorf("%s: %s promised to close %s, which is %s once applied", action, rec.Change, step, after[step])
				}
			}
		})
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}
