//go:build unix

package policies_test

import (
	"context"
	"testing"

	"github.com/threatcov/threatcov/internal/benchcpu"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// The example policy set and every default probe: the inputs bench/run.sh hands to threatcov,
// conftest and gator, so these figures explain the whole-process ratios there.
const examplePolicies = "../examples/platform"

func platformEvaluator(b *testing.B) (*policies.Inventory, *policies.Evaluator, []probes.Probe) {
	b.Helper()
	inv, err := policies.Load(examplePolicies)
	if err != nil {
		b.Fatal(err)
	}
	ev, err := policies.NewEvaluator(inv)
	if err != nil {
		b.Fatal(err)
	}
	ps, err := probes.Default()
	if err != nil {
		b.Fatal(err)
	}
	return inv, ev, ps
}

func verifiable(inv *policies.Inventory) []*policies.Policy {
	var out []*policies.Policy
	for _, p := range inv.Policies {
		if p.Verifiable {
			out = append(out, p)
		}
	}
	return out
}

func findProbe(b *testing.B, ps []probes.Probe, name string) probes.Probe {
	b.Helper()
	for _, p := range ps {
		if p.Name == name {
			return p
		}
	}
	b.Fatalf("no default probe %q", name)
	return probes.Probe{}
}

// BenchmarkPlatformEvaluateOne is one prepared query on one converted input: a konstraint
// Rego policy on a Deployment (so the Pod the controller would create is evaluated too).
func BenchmarkPlatformEvaluateOne(b *testing.B) {
	for _, tc := range []struct{ policy, probe string }{
		{"rego:container_deny_privileged", "privileged-container/deployment"},
		{"gatekeeper:ContainerDenyPrivileged/containerdenyprivileged", "privileged-container/pod"},
	} {
		b.Run(tc.policy, func(b *testing.B) {
			inv, ev, ps := platformEvaluator(b)
			p := inv.Policy(tc.policy)
			if p == nil {
				b.Skipf("example set has no policy %s", tc.policy)
			}
			pr := findProbe(b, ps, tc.probe)
			ctx := context.Background()
			if got := ev.Evaluate(ctx, p, pr, "apps"); got.Verdict == policies.VerdictError {
				b.Fatalf("%s on %s: %s", tc.policy, tc.probe, got.Err)
			}
			cpu0 := benchcpu.Now(b)
			for b.Loop() {
				ev.Evaluate(ctx, p, pr, "apps")
			}
			benchcpu.Report(b, cpu0)
		})
	}
}

// BenchmarkPlatformEvaluateAll is every verifiable policy of the example set on every default
// probe in one namespace, inputs converted once (the first call) and reused.
func BenchmarkPlatformEvaluateAll(b *testing.B) {
	inv, ev, ps := platformEvaluator(b)
	var jobs []policies.Job
	for _, p := range verifiable(inv) {
		for _, pr := range ps {
			jobs = append(jobs, policies.Job{Policy: p, Probe: pr, Namespace: "apps"})
		}
	}
	ctx := context.Background()
	ev.EvaluateAll(ctx, jobs)
	cpu0 := benchcpu.Now(b)
	for b.Loop() {
		ev.EvaluateAll(ctx, jobs)
	}
	benchcpu.Report(b, cpu0)
	b.ReportMetric(float64(len(jobs)), "evals/op")
}

// BenchmarkPlatformColdStart is what every threatcov run pays before its first verdict:
// discover and parse the example set, compile one prepared query per policy, expand the
// default probes, evaluate everything once (converting each probe to an OPA value).
func BenchmarkPlatformColdStart(b *testing.B) {
	ctx := context.Background()
	cpu0 := benchcpu.Now(b)
	for b.Loop() {
		inv, ev, ps := platformEvaluator(b)
		var jobs []policies.Job
		for _, p := range verifiable(inv) {
			for _, pr := range ps {
				jobs = append(jobs, policies.Job{Policy: p, Probe: pr, Namespace: "apps"})
			}
		}
		ev.EvaluateAll(ctx, jobs)
	}
	benchcpu.Report(b, cpu0)
}
