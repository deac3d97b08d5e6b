package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestVersionCommand: `threatcov version` and `threatcov --version` print the same line, the
// build information of this binary.
func TestVersionCommand(t *testing.T) {
	code, byCmd, stderr := runCLI(t, "version")
	if code != exitOK {
		t.Fatalf("version: exit %d: %s", code, stderr)
	}
	code, byFlag, stderr := runCLI(t, "--version")
	if code != exitOK {
		t.Fatalf("--version: exit %d: %s", code, stderr)
	}
	want := "threatcov " + version() + "\n"
	if byCmd != want || byFlag != want {
		t.Errorf("version printed %q, --version %q; want %q for both", byCmd, byFlag, want)
	}
	if info, ok := debug.ReadBuildInfo(); ok && !strings.Contains(byCmd, info.GoVersion) {
		t.Errorf("version %q does not name the Go version %s", byCmd, info.GoVersion)
	}
}
