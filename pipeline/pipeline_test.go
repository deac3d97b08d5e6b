package pipeline

import (
	"context"
	"testing"

	"github.com/threatcov/threatcov/analyzer"
)

// TestBasePod: an allowlist the embedded base image is not on denies every probe and its
// twin, so it proves nothing (over-broad); with a base Pod from the allowed registry the same
// policy is credited for what it really stops (an untrusted image) and nothing else.
func TestBasePod(t *testing.T) {
	set := "../e2e/redteam/11-overbroad-allowlist-without-base/policies"
	status := func(cfg Config) map[string]analyzer.StepResult {
		t.Helper()
		res, _, err := Verify(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]analyzer.StepResult{}
		for _, s := range res.Steps {
			out[s.Node] = s
		}
		return out
	}
	const image, hostPID = "scc-inject-code-into-external-image", "mce-find-pod-with-hostpid"
	before := status(Config{Policies: []string{set}, Date: "2026-12-01"})
	if s := before[image]; s.Status == analyzer.StatusBlocked || len(s.OverBroad) == 0 {
		t.Errorf("embedded base: %s is %s (over-broad %v), want not blocked and the allowlist named over-broad", image, s.Status, s.OverBroad)
	}
	after := status(Config{Policies: []string{set}, BasePod: "testdata/base-acme.yaml", Date: "2026-12-01"})
	if s := after[image]; s.Status != analyzer.StatusBlocked || len(s.OverBroad) != 0 {
		t.Errorf("base from the allowed registry: %s is %s (over-broad %v): %s", image, s.Status, s.OverBroad, s.Explanation)
	}
	if s := after[hostPID]; s.Status == analyzer.StatusBlocked {
		t.Errorf("base from the allowed registry: %s is blocked by an image allowlist: %s", hostPID, s.Explanation)
	}
}
