package testcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/threatcov/threatcov/internal/testenv"
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
	apiserver, etcd := binaries(t)
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

func binaries(t testing.TB) (apiserver, etcd string) {
	t.Helper()
	apiserver, etcd, err := FindBinaries()
	if err != nil {
		if errors.Is(err, ErrBinaryMissing) {
			testenv.Missing(t, "%v", err)
		}
		t.Fatal(err)
	}
	return apiserver, etcd
}

// The cluster Shared hands out, started by the first test that asks.
var shared struct {
	once    sync.Once
	cluster *Cluster
	dir     string
	err     error
}

// Shared returns one cluster for all tests of the test binary, started on first use, so a
// package pays the startup (5-12s) once; Main stops it. Tests sharing it must not collide:
// use namespaces of their own, and bind cluster-scoped policies to labelled namespaces.
// Binaries missing: as Start.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	apiserver, etcd := binaries(t)
	shared.once.Do(func() {
		t.Helper()
		shared.dir, shared.err = os.MkdirTemp("", "threatcov-testcluster-")
		if shared.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		shared.cluster, shared.err = StartCluster(ctx, Options{Dir: shared.dir, APIServer: apiserver, Etcd: etcd})
		if shared.err == nil {
			t.Logf("shared test cluster at %s ready in %v", shared.cluster.URL, shared.cluster.StartupTime.Round(time.Millisecond))
		}
	})
	if shared.err != nil {
		t.Fatalf("start shared test cluster: %v", shared.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("shared test cluster logs:\n%s", shared.cluster.Logs(50))
		}
	})
	return shared.cluster
}

// Main runs the tests of a package that uses Shared and then stops the shared cluster and
// removes its directory. Call it from TestMain:
//
//	func TestMain(m *testing.M) { testcluster.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if shared.cluster != nil {
		shared.cluster.Stop()
	}
	if shared.dir != "" {
		if err := os.RemoveAll(shared.dir); err != nil {
			fmt.Fprintf(os.Stderr, "testcluster: %v\n", err)
		}
	}
	os.Exit(code)
}

// settleTimeout bounds how long admission policies take to load after their objects are
// created: the API server reads them through informers, after the creates return.
const settleTimeout = 60 * time.Second

// AwaitPolicies polls ready until it holds, failing t when the policies have not settled in
// settleTimeout; what names them in the failure.
func AwaitPolicies(t testing.TB, what string, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(settleTimeout)
	for !ready() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not settle within %s", what, settleTimeout)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
