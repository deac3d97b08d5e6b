// Package testenv is how a test asks for what it needs from the machine (a tool, a browser, a
// checkout). A test never skips silently: what is missing skips with the remedy, and fails
// when env CI is set, because CI installs everything (scripts/test-deps.sh) and a skip there
// would hide that the test never ran.
//
// It only reads the environment; it installs nothing.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// CI reports whether the tests run under CI (env CI set and not empty).
func CI() bool { return os.Getenv("CI") != "" }

// Missing ends the test for want of something the machine lacks: it skips with the message,
// which should say what is missing and how to get it, or fails under CI.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("%s (CI is set: a missing dependency fails instead of skipping)", msg)
		return
	}
	t.Skip(msg)
}

// LookPath returns the path of the first of names found on PATH, or ends the test with Missing
// and the remedy.
func LookPath(t testing.TB, remedy string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, "%s: %s", notFound(names), remedy)
	return ""
}

func notFound(names []string) string {
	if len(names) == 1 {
		return names[0] + " is not on PATH"
	}
	return fmt.Sprintf("none of %q is on PATH", names)
}

// OptIn returns the value of env, a path to something the project cannot install (a checkout
// of another repository), or skips the test saying how to run it. Unlike Missing it skips under
// CI too: such a test is run by hand.
func OptIn(t testing.TB, env, remedy string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		t.Skipf("set %s to run this test: %s", env, remedy)
	}
	return v
}
