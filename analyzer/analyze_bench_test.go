//go:build unix

package analyzer_test

import (
	"context"
	"testing"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/internal/benchcpu"
	"github.com/threatcov/threatcov/pipeline"
)

// examplePolicies is the policy set `threatcov analyze --policies examples/platform` reads;
// bench/run.sh times that command whole-process and these benchmarks split its cost.
const examplePolicies = "../examples/platform"

// platformInput builds the analysis input the CLI builds for the embedded catalog, the default
// mapping and probes, and the example policy set. With a fresh evaluator every call the
// benchmark includes policy compilation and probe conversion, as every CLI run does.
func platformInput(b *testing.B) analyzer.Input {
	b.Helper()
	in, err := pipeline.Load(context.Background(), pipeline.Config{Policies: []string{examplePolicies}, Date: "2026-11-01"})
	if err != nil {
		b.Fatal(err)
	}
	return *in
}

// BenchmarkAnalyzePlatform is the in-process cost of one `threatcov analyze` on the example:
// load and compile everything, evaluate, count and list paths (no rendering, no output).
func BenchmarkAnalyzePlatform(b *testing.B) {
	ctx := context.Background()
	cpu0 := benchcpu.Now(b)
	for b.Loop() {
		if _, err := analyzer.Analyze(ctx, platformInput(b)); err != nil {
			b.Fatal(err)
		}
	}
	benchcpu.Report(b, cpu0)
}

// BenchmarkAnalyzePlatformWarm reuses one evaluator, so policies are compiled and probes
// converted once: what remains is evaluation and the analysis proper.
func BenchmarkAnalyzePlatformWarm(b *testing.B) {
	ctx := context.Background()
	in := platformInput(b)
	if _, err := analyzer.Analyze(ctx, in); err != nil {
		b.Fatal(err)
	}
	cpu0 := benchcpu.Now(b)
	for b.Loop() {
		if _, err := analyzer.Analyze(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	benchcpu.Report(b, cpu0)
}

// BenchmarkAnalyzeInputs is the loading half alone: catalog, mapping, probes, policy
// discovery and compilation.
func BenchmarkAnalyzeInputs(b *testing.B) {
	cpu0 := benchcpu.Now(b)
	for b.Loop() {
		platformInput(b)
	}
	benchcpu.Report(b, cpu0)
}
