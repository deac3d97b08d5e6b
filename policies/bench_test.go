package policies

import (
	"context"
	"testing"

	"github.com/threatcov/threatcov/probes"
)

func TestEvaluationNamespaceFollowsProbe(t *testing.T) {
	inv := loadFixtures(t)
	ev := newEvaluator(t, inv)
	if got := ev.Evaluate(context.Background(), inv.Policy("psa:legacy/enforce"), inLegacy, "payments"); got.Namespace != "legacy" {
		t.Errorf("namespace %q, want legacy (the probe's own)", got.Namespace)
	}
	if got := ev.Evaluate(context.Background(), inv.Policy("psa:legacy/enforce"), hostPIDPod, ""); got.Namespace != DefaultNamespace {
		t.Errorf("namespace %q, want %q", got.Namespace, DefaultNamespace)
	}
}

func benchJobs(b *testing.B) (*Evaluator, []Job) {
	inv, err := Load("testdata/inventory")
	if err != nil {
		b.Fatal(err)
	}
	ev, err := NewEvaluator(inv)
	if err != nil {
		b.Fatal(err)
	}
	ps := []probes.Probe{benignPod, hostPIDPod, hostPIDDeployment, hostPIDCronJob, privilegedPod, privilegedInit,
		privilegedDeployment, privilegedEphemeral, untrustedImagePod, rootPod, restrictedPod, nodePortService}
	jobs := fixtureJobs(inv, ps)
	return ev, jobs
}

// BenchmarkEvaluateAll measures evaluations per second over the fixture inventory once
// compiled and probe inputs converted (the steady state of a verify run).
func BenchmarkEvaluateAll(b *testing.B) {
	ev, jobs := benchJobs(b)
	ev.EvaluateAll(context.Background(), jobs) // warm the input cache
	b.ResetTimer()
	for b.Loop() {
		ev.EvaluateAll(context.Background(), jobs)
	}
	b.ReportMetric(float64(len(jobs)*b.N)/b.Elapsed().Seconds(), "evals/s")
}

// BenchmarkNewEvaluator measures inventory compilation (one prepared query per policy).
func BenchmarkNewEvaluator(b *testing.B) {
	inv, err := Load("testdata/inventory")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := NewEvaluator(inv); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoad measures discovery and parsing of the fixture tree.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load("testdata/inventory"); err != nil {
			b.Fatal(err)
		}
	}
}
