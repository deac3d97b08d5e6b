package testcluster

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// startTimeout bounds etcd plus API server startup; about 10s on an idle 2-core machine,
// so this leaves room for a loaded CI runner.
const startTimeout = 3 * time.Minute

// Start starts a cluster for the test and stops it in the test's cleanup, printing the tail
// of both logs when the test failed. When a binary is missing it skips the test saying
// which script to run, unless env CI is set: then the test fails, because CI builds the
// binaries and a silent skip there would hide that the cluster tests never ran.
func Start(t testing.TB) *Cluster {
	t.Helper()
	apiserver, etcd, err := FindBinaries()
	if err != nil {
		if errors.Is(err, ErrBinaryMissing) && os.Getenv("CI") == "" {
			t.Skip(err)
		}
		t.Fatalf("%v (CI is set: .ci/run must build the cluster binaries first)", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	c, err := StartCluster(ctx, Options{Dir: t.TempDir(), APIServer: apiserver, Etcd: etcd})
	if err != nil {
		t.Fatalf("start test cluster: %v", err)
	}
	// Registered after t.TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			t.Logf("test cluster logs:\n%s", c.Logs(100))
		}
	})
	t.Logf("test cluster at %s ready in %v", c.URL, c.StartupTime.Round(time.Millisecond))
	return c
}
