package pipeline

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/policies"
)

// TestKyvernoFallback: without the kyverno CLI the analysis says so once on Stderr and reads
// Kyverno statically: the PolicyException over the monitoring namespace still leaves the step
// bypassed there, never blocked.
func TestKyvernoFallback(t *testing.T) {
	t.Setenv(policies.EnvKyverno, t.TempDir()+"/no-kyverno")
	var stderr bytes.Buffer
	res, _, err := Verify(context.Background(), Config{
		Policies: []string{"../e2e/redteam/54-kyverno-exception-namespace/policies"},
		Date:     "2026-12-01", Stderr: &stderr,
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stderr.String(), "Kyverno policies are read statically"); n != 1 {
		t.Errorf("the fallback is said %d times on stderr, want once:\n%s", n, stderr.String())
	}
	for _, s := range res.Steps {
		if s.Node == "dos-find-privileged-container" && s.Status != analyzer.StatusBypassed {
			t.Errorf("%s is %s, want bypassed (the exception exempts monitoring): %s", s.Node, s.Status, s.Explanation)
		}
	}
}
