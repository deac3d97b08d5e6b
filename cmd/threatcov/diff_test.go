package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/reports"
)

// TestDiffMarkdownComment: on the example, one Gatekeeper constraint switched to dryrun opens
// paths in two trees through five steps. The pull-request comment says the cause once, numbered,
// names each goal's tree, counts what it counts, starts with the marker a workflow updates the
// comment by, and with --quiet is empty when nothing changed.
func TestDiffMarkdownComment(t *testing.T) {
	dir := t.TempDir()
	policies := filepath.Join(dir, "policies")
	if err := os.CopyFS(policies, os.DirFS("../../examples/platform")); err != nil {
		t.Fatal(err)
	}
	base, cur := filepath.Join(dir, "base.json"), filepath.Join(dir, "cur.json")
	if code, _, stderr := runCLI(t, "baseline", "write", base, "--policies", policies); code != exitOK {
		t.Fatalf("baseline write: exit %d: %s", code, stderr)
	}
	constraint := filepath.Join(policies, "gatekeeper", "container-deny-added-caps-constraint.yaml")
	data, err := os.ReadFile(constraint)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "\nspec:\n", "\nspec:\n  enforcementAction: dryrun\n", 1)
	if edited == string(data) {
		t.Fatalf("%s has no spec", constraint)
	}
	if err := os.WriteFile(constraint, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "analyze", "--policies", policies, "-o", "json", "--file", cur); code != exitOK {
		t.Fatalf("analyze: exit %d: %s", code, stderr)
	}

	code, out, stderr := runCLI(t, "diff", base, cur, "-o", "markdown", "--quiet")
	if code != exitOK {
		t.Fatalf("diff: exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(out, reports.DiffMarker+"\n## threatcov: ") {
		t.Errorf("the comment does not start with the marker and a headline:\n%s", out)
	}
	cause := "policy gatekeeper:ContainerDenyAddedCaps/containerdenyaddedcaps switched from enforce to monitor"
	if n := strings.Count(out, cause); n != 1 {
		t.Errorf("the cause is said %d times, want once:\n%s", n, out)
	}
	for _, want := range []string{
		"1. " + cause,
		"(5 steps; 4 paths opened; 45 probes admitted: ",
		"## threatcov: 4 paths opened, 0 closed",
		"| blocked paths | 22 of 164 (13.41%) | 18 of 164 (10.98%) |",
		"### Paths opened (4)\n\n| Tree | Goal | Steps of the path | Causes |",
		"| Scenario: compromised container | Perform eavesdropping on pod to pod network | ",
		"| Scenario: attacker on the network | Perform eavesdropping on pod to pod network (`san-eavesdrop-on-pod-to-pod-network`) | blocked | open |",
		"| Denial of service | Find Pod/Container with SYS\\_PTRACE capability enabled (`dos-find-pod-with-sys-ptrace`) | blocked (verified) | bypassed | 1 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the comment lacks %q:\n%s", want, out)
		}
	}
	// Every sentence of the comment appears once (table rows repeat only their cells).
	for _, line := range strings.Split(out, "\n") {
		if line != "" && !strings.HasPrefix(line, "|") && strings.Count(out, line) > 1 {
			t.Errorf("line repeated: %q", line)
		}
	}

	// Nothing changed: --quiet prints nothing, and leaves --file empty (a stale comment from an
	// earlier run is not posted); without it the comment says so.
	code, out, _ = runCLI(t, "diff", base, base, "-o", "markdown", "--quiet")
	if code != exitOK || out != "" {
		t.Errorf("diff --quiet of a report with itself: exit %d, printed %q", code, out)
	}
	file := filepath.Join(dir, "comment.md")
	if err := os.WriteFile(file, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "diff", base, base, "-o", "markdown", "--quiet", "--file", file); code != exitOK {
		t.Fatalf("diff --quiet --file: exit %d: %s", code, stderr)
	}
	if data, err := os.ReadFile(file); err != nil || len(data) != 0 {
		t.Errorf("diff --quiet --file of an unchanged report left %q (%v), want an empty file", data, err)
	}
	_, out, _ = runCLI(t, "diff", base, base, "-o", "markdown")
	if !strings.Contains(out, "## threatcov: no change in attack-path coverage") {
		t.Errorf("diff of a report with itself:\n%s", out)
	}
}

// TestBaselineOtherSchema: a baseline of another report schema fails with exit 2 and the exact
// command that rewrites it with the check job's own analysis flags.
func TestBaselineOtherSchema(t *testing.T) {
	dir, analysis := gateFixture(t)
	base := filepath.Join(dir, "baseline.json")
	if code, _, stderr := runCLI(t, append([]string{"baseline", "write", base}, analysis...)...); code != exitOK {
		t.Fatalf("baseline write: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ schema, writer, other string }{
		{"threatcov.dev/report/v0", "written by an older threatcov", "Or compare with the threatcov that wrote it"},
		{"threatcov.dev/report/v9", "written by a newer threatcov", "go install github.com/threatcov/threatcov/cmd/threatcov@VERSION"},
	} {
		old := filepath.Join(dir, "old.json")
		if err := os.WriteFile(old, []byte(strings.Replace(string(data), "threatcov.dev/report/v1", tt.schema, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runCLI(t, append([]string{"check", "--baseline", old, "--fail-on", "new-open-paths"}, analysis...)...)
		rewrite := "threatcov baseline write " + old + " --date 2026-11-28 --mapping " + filepath.Join(dir, "mapping.yaml") +
			" --policies " + filepath.Join(dir, "policies") + " --trees " + filepath.Join(dir, "tree.yaml") + " --trees-mode replace"
		for _, want := range []string{old + ": report written by another report schema version", `"` + tt.schema + `" (` + tt.writer + ")", "To migrate", "\n    " + rewrite + "\n", tt.other} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%s: check: exit %d, stderr lacks %q:\n%s", tt.schema, code, want, stderr)
			}
		}
		if code != exitInput {
			t.Errorf("%s: check exit %d, want %d", tt.schema, code, exitInput)
		}
	}
}
