package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder stands in for a test, recording how it ended instead of ending.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                          {}
func (r *recorder) Skip(args ...any)                 { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Skipf(format string, args ...any) { r.skipped = fmt.Sprintf(format, args...) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestMissing(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			r := &recorder{TB: t}
			LookPath(r, "apt-get install -y nothing", "threatcov-no-such-tool-a", "threatcov-no-such-tool-b")
			got, other := r.skipped, r.failed
			if ci != "" {
				got, other = r.failed, r.skipped
			}
			if !strings.Contains(got, `none of ["threatcov-no-such-tool-a" "threatcov-no-such-tool-b"] is on PATH: apt-get install -y nothing`) || other != "" {
				t.Errorf("skipped %q, failed %q", r.skipped, r.failed)
			}
		})
	}
}

func TestOptInSkipsUnderCI(t *testing.T) {
	t.Setenv("CI", "true")
	t.Setenv("THREATCOV_TESTENV_UNSET", "")
	r := &recorder{TB: t}
	OptIn(r, "THREATCOV_TESTENV_UNSET", "a checkout of something")
	if r.skipped != "set THREATCOV_TESTENV_UNSET to run this test: a checkout of something" || r.failed != "" {
		t.Errorf("skipped %q, failed %q", r.skipped, r.failed)
	}
}
