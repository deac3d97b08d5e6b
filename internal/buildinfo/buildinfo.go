// Package buildinfo says which threatcov a binary is, from the build information Go records:
// `threatcov version` prints it and SARIF reports name it as their tool's version. It reads
// only runtime/debug and must not import any other threatcov package.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Version is the module version this binary was built from, with the commit when built from
// git: "v1.2.3" for `go install ...@v1.2.3`, "(devel) (commit 0123456789ab+dirty)" for a
// build in a checkout with uncommitted changes, "(devel)" without version control
// information, "unknown" without build information.
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return Of(info)
}

// Of formats the version of a binary's build information, as Version does (without the Go
// version).
func Of(info *debug.BuildInfo) string {
	v := info.Main.Version
	if v == "" {
		v = "(devel)" // a test binary
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		v += " (commit " + rev + modified + ")"
	}
	return v
}

// Semantic is the module version as Semantic Versioning 2.0 ("1.2.3", or a pseudo-version
// such as "0.0.0-20261206120000-0123456789ab"), or "" when the build has none ("(devel)").
// Go module versions are canonical semantic versions with a leading "v".
func Semantic() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || !strings.HasPrefix(info.Main.Version, "v") {
		return ""
	}
	return strings.TrimPrefix(info.Main.Version, "v")
}

// GoVersion is the Go toolchain the binary was built with, or "" without build information.
func GoVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	return info.GoVersion
}
