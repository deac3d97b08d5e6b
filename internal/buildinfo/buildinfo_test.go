package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestOf(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name string
		info debug.BuildInfo
		want string
	}{
		{"go install @version", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.4.1"}}, "v0.4.1"},
		{"pseudo-version of a commit", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.4.2-0.20261206174101-4757e806eca0"}}, "v0.4.2-0.20261206174101-4757e806eca0"},
		{"build in a clean checkout", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("4757e806eca0f1a83399c44eccde8333131130cb", "false")}, "(devel) (commit 4757e806eca0)"},
		{"build with uncommitted changes", debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: vcs("4757e806eca0f1a83399c44eccde8333131130cb", "true")}, "(devel) (commit 4757e806eca0+dirty)"},
		{"test binary", debug.BuildInfo{GoVersion: "go1.26.8"}, "(devel)"},
	}
	for _, tt := range tests {
		if got := Of(&tt.info); got != tt.want {
			t.Errorf("%s: Of = %q, want %q", tt.name, got, tt.want)
		}
	}
}
