package policies

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/threatcov/threatcov/probes"
)

// TestSharedCompileSameVerdicts runs the example set's Rego policies on every built-in probe
// compiled together (as NewEvaluator does) and each alone: the evaluations must not differ.
func TestSharedCompileSameVerdicts(t *testing.T) {
	inv, err := Load("../examples/platform")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := probes.Default()
	if err != nil {
		t.Fatal(err)
	}
	shared, alone := newEvaluator(t, inv), newEvaluator(t, inv)
	caps := sandboxCapabilities()
	var jobs []Job
	n := 0
	for _, p := range inv.Policies {
		if p.Engine != EngineRego || !p.Verifiable {
			continue
		}
		n++
		alone.queries[p.exec.key] = alone.compile(p.exec, caps)
		for _, pr := range ps {
			jobs = append(jobs, Job{Policy: p, Probe: pr, Namespace: "apps"})
		}
	}
	if got := len(shared.compilePipeline(inv, caps)); n < 2 || got != n {
		t.Fatalf("%d of %d Rego policies compiled together, want all", got, n)
	}
	if diff := cmp.Diff(alone.EvaluateAll(context.Background(), jobs), shared.EvaluateAll(context.Background(), jobs)); diff != "" {
		t.Errorf("evaluations (-alone +shared):\n%s", diff)
	}
}

// TestSharedCompileFallsBack: one policy that does not compile makes every policy compile
// alone, so the others still run and the broken one reports its own error.
func TestSharedCompileFallsBack(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"ok.rego":     "package ok\nviolation contains \"no\" if input.spec.hostPID\n",
		"other.rego":  "package other\nviolation contains \"no\" if input.spec.hostIPC\n",
		"broken.rego": "package broken\nviolation contains msg if { msg := undefined_function(input) }\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inv, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ev := newEvaluator(t, inv)
	if ev.compilePipeline(inv, sandboxCapabilities()) != nil {
		t.Error("compilePipeline compiled a set with a broken policy")
	}
	errs := ev.CompileErrors()
	if len(errs) != 1 || errs["rego:broken"] == "" {
		t.Errorf("compile errors %v, want rego:broken only", errs)
	}
	got := ev.Evaluate(context.Background(), inv.Policy("rego:ok"), hostPIDPod, "apps")
	if got.Verdict != VerdictDenied {
		t.Errorf("rego:ok on a hostPID pod: %+v, want denied", got)
	}
}
