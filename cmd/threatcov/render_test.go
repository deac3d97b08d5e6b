package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRenderReport: drawing a saved JSON report gives the same files as analysing again, and
// a report that does not cover the selected trees, or analysis flags next to --report, are
// input errors.
func TestRenderReport(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	if code, _, stderr := runCLI(t, "analyze", "--policies", "../../examples/platform", "--date", "2026-11-28", "-o", "json", "--file", report); code != exitOK {
		t.Fatalf("analyze: exit %d: %s", code, stderr)
	}
	direct, saved := filepath.Join(dir, "direct"), filepath.Join(dir, "saved")
	for _, format := range []string{"dot", "svg"} {
		tree := "malicious-code-execution"
		args := []string{"render", tree, "--format", format}
		if code, _, stderr := runCLI(t, append(args, "--policies", "../../examples/platform", "--date", "2026-11-28", "--dir", direct)...); code != exitOK {
			t.Fatalf("render: exit %d: %s", code, stderr)
		}
		if code, _, stderr := runCLI(t, append(args, "--report", report, "--dir", saved)...); code != exitOK {
			t.Fatalf("render --report: exit %d: %s", code, stderr)
		}
		want, err := os.ReadFile(filepath.Join(direct, tree+"."+format))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(saved, tree+"."+format))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s from the saved report differs from the one analysed again", format)
		}
	}

	extra := filepath.Join(dir, "extra.yaml")
	if err := os.WriteFile(extra, []byte("id: extra\ntitle: Extra\nnodes:\n  - id: x-goal\n    kind: goal\n    gate: or\n    label: G\n    children: [x-a]\n  - id: x-a\n    kind: step\n    label: A\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"report of other trees", []string{"--trees", extra}, report + `: the report has no result for tree "extra": render with the --trees and --trees-mode`},
		{"analysis flags", []string{"--policies", "../../examples/platform", "--namespace", "apps"}, "--report draws a saved analysis, so --namespace, --policies would be ignored"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"render", "--report", report, "--dir", filepath.Join(dir, "x")}, tt.args...)...)
			if code != exitInput || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitInput, tt.want)
			}
		})
	}
}
