package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// asCLI makes the test binary act as threatcov when re-executed by TestKilledRunLeavesFile.
const asCLI = "THREATCOV_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		os.Exit(run(os.Args[1:], streams{in: os.Stdin, out: os.Stdout, err: os.Stderr}))
	}
	os.Exit(m.Run())
}

// TestKilledRunLeavesFile kills a whole `threatcov analyze --file` run with SIGKILL at
// several moments, from start-up to after the write: whenever it dies, the report file holds
// either its previous content or the complete new report, never a part of one.
func TestKilledRunLeavesFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the CLI several times")
	}
	dir := t.TempDir()
	report := filepath.Join(dir, "report.html")
	args := []string{"analyze", "--policies", "../../examples/platform", "-o", "html", "--file", report}

	// The complete report, for comparison.
	full := exec.Command(os.Args[0], args...)
	full.Env = append(os.Environ(), asCLI+"=1")
	start := time.Now()
	if out, err := full.CombinedOutput(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, out)
	}
	took := time.Since(start)
	complete, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	previous := []byte("<!-- the previous report -->\n")

	for i := 1; i <= 8; i++ {
		if err := os.WriteFile(report, previous, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), asCLI+"=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(took * time.Duration(i) / 8)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		got, err := os.ReadFile(report)
		if err != nil {
			t.Fatalf("kill %d/8: report file gone: %v", i, err)
		}
		if !bytes.Equal(got, previous) && !bytes.Equal(got, complete) {
			t.Fatalf("kill %d/8: report holds %d bytes, neither the previous file nor the complete report (%d bytes)", i, len(got), len(complete))
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".report.html.tmp-") && e.Name() != "report.html" {
			t.Errorf("unexpected file %s", e.Name())
		}
	}
}
