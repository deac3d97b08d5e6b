package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"go install @version", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.4.1"}}, "v0.4.1 go1.26.8"},
		{"pseudo-version of a commit", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.4.2-0.20261206174101-4757e806eca0"}}, "v0.4.2-0.20261206174101-4757e806eca0 go1.26.8"},
		{"build in a clean checkout", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("4757e806eca0f1a83399c44eccde8333131130cb", "false")}, "(devel) (commit 4757e806eca0) go1.26.8"},
		{"build with uncommitted changes", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("4757e806eca0f1a83399c44eccde8333131130cb", "true")}, "(devel) (commit 4757e806eca0+dirty) go1.26.8"},
		{"test binary", debug.BuildInfo{GoVersion: "go1.26.8"}, "(devel) go1.26.8"},
	}
	for _, tt := range tests {
		if got := versionOf(&tt.info); got != tt.want {
			t.Errorf("%s: versionOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}

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
