package policies

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The memory limit, not the time limit, stops a policy that grows a huge value; the policy
// evaluated alongside it is re-run alone and keeps its verdict.
func TestMemoryLimitStopsGrowingPolicy(t *testing.T) {
	inv, err := Load("testdata/memory")
	if err != nil {
		t.Fatal(err)
	}
	ev := newEvaluator(t, inv, WithTimeout(time.Minute), WithMemoryLimit(64<<20))
	var jobs []Job
	for range 1 {
		for _, p := range inv.Policies {
			jobs = append(jobs, Job{Policy: p, Probe: hostPIDPod})
		}
	}
	for _, e := range ev.EvaluateAll(context.Background(), jobs) {
		switch e.Policy {
		case "rego:hostile.grow":
			if e.Verdict != VerdictError || !strings.Contains(e.Err, "testdata/memory/grow.rego:1: policy rego:hostile.grow exceeded the 64 MiB memory limit") {
				t.Errorf("grow: %s %q, want the memory limit error", e.Verdict, e.Err)
			}
		case "rego:hostile.good":
			if e.Verdict != VerdictDenied {
				t.Errorf("good: %s %q, want denied", e.Verdict, e.Err)
			}
		}
	}
}
