package serve

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/pipeline"
)

// The tests serve real analyses: the embedded catalog, the default mapping and probes, and a
// policy folder evaluated by real OPA, exactly what `threatcov serve` computes.

var testTime = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// hostileTree is a user tree whose labels, title and ref try to inject markup.
const hostileTree = `id: hostile
title: "Hostile <script>alert('title')</script>"
nodes:
  - id: hostile-goal
    kind: goal
    gate: or
    label: "<script>alert('goal')</script>"
    children: [hostile-step]
  - id: hostile-step
    kind: step
    label: "<img src=x onerror=alert(1)> & \"quotes\" </title><script>alert('svg')</script>"
`

// analysis returns the AnalyzeFunc `threatcov serve` runs (Pipeline) over the catalog (plus
// extra tree YAML documents) and the policies under policyDir, and a counter of the analyses
// it ran.
func analysis(t testing.TB, policyDir string, extraTrees ...string) (AnalyzeFunc, *atomic.Int32) {
	t.Helper()
	cfg := pipeline.Config{Policies: []string{policyDir}, Now: testTime, Timestamp: true}
	if len(extraTrees) > 0 {
		dir := t.TempDir()
		for i, doc := range extraTrees {
			file := filepath.Join(dir, string(rune('a'+i))+".yaml")
			if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cfg.Trees = []string{dir}
	}
	run := Pipeline(cfg)
	var runs atomic.Int32
	return func(ctx context.Context) (*analyzer.Result, *attacktrees.Catalog, error) {
		runs.Add(1)
		return run(ctx)
	}, &runs
}

// copyPolicies copies the test policy set into a fresh folder the test may edit.
func copyPolicies(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/policies/host-namespaces.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "host-namespaces.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
