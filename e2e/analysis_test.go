package e2e

import (
	"github.com/threatcov/threatcov/pipeline"
	"github.com/threatcov/threatcov/serve"
)

// analysis is what `threatcov serve --policies dir` analyses: the embedded catalog, the default
// mapping and probes, and the policies under dir evaluated by real OPA, read anew on each call,
// as a re-analysis after a change does.
func analysis(dir string) serve.AnalyzeFunc {
	return serve.Pipeline(pipeline.Config{Policies: []string{dir}, Timestamp: true})
}
