package e2e

import (
	"context"
	"time"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
	"github.com/threatcov/threatcov/serve"
)

// analysis is what `threatcov serve --policies dir` analyses: the embedded catalog, the default
// mapping and probes, and the policies under dir evaluated by real OPA. It reads dir anew on
// each call, as a re-analysis after a change does.
func analysis(dir string) serve.AnalyzeFunc {
	return func(ctx context.Context) (*analyzer.Result, *attacktrees.Catalog, error) {
		cat, err := attacktrees.Default()
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
		inv, err := policies.Load(dir)
		if err != nil {
			return nil, nil, err
		}
		ev, err := policies.NewEvaluator(inv)
		if err != nil {
			return nil, nil, err
		}
		now := time.Now().UTC()
		res, err := analyzer.Analyze(ctx, analyzer.Input{Catalog: cat, Mapping: mp, Probes: ps,
			Inventory: inv, Evaluator: ev, Now: now, Stamp: now.Truncate(time.Second),
			Sources: analyzer.Inputs{Policies: []string{"policies/"}, Mapping: []string{mapping.DefaultFile}}})
		return res, cat, err
	}
}
