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
	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
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

// analysis returns an AnalyzeFunc over the catalog (plus extra tree YAML documents) and the
// policies under policyDir, and a counter of the analyses it ran.
func analysis(t testing.TB, policyDir string, extraTrees ...string) (AnalyzeFunc, *atomic.Int32) {
	t.Helper()
	var runs atomic.Int32
	return func(ctx context.Context) (*analyzer.Result, *attacktrees.Catalog, error) {
		runs.Add(1)
		trees, err := attacktrees.DefaultTrees()
		if err != nil {
			return nil, nil, err
		}
		for i, doc := range extraTrees {
			tr, err := attacktrees.Parse([]byte(doc), filepath.Join("extra", string(rune('a'+i))+".yaml"))
			if err != nil {
				return nil, nil, err
			}
			trees = append(trees, tr)
		}
		cat, err := attacktrees.Build(trees)
		if err != nil {
			return nil, nil, err
		}
		ps, err := probes.Default()
		if err != nil {
			return nil, nil, err
		}
		mp, err := mapping.ResolveDefault(cat, ps, false)
		if err != nil {
			return nil, nil, err
		}
		inv, err := policies.Load(policyDir)
		if err != nil {
			return nil, nil, err
		}
		ev, err := policies.NewEvaluator(inv)
		if err != nil {
			return nil, nil, err
		}
		res, err := analyzer.Analyze(ctx, analyzer.Input{Catalog: cat, Mapping: mp, Probes: ps,
			Inventory: inv, Evaluator: ev, Now: testTime, Stamp: testTime,
			Sources: analyzer.Inputs{Policies: []string{policyDir}, Mapping: []string{mapping.DefaultFile}}})
		return res, cat, err
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
