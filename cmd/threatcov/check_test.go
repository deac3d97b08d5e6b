package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// gateFixture copies testdata/gate into a temporary folder (the test edits its policy) and
// returns the folder and the analysis flags that read it.
func gateFixture(t *testing.T) (dir string, args []string) {
	t.Helper()
	dir = t.TempDir()
	for _, name := range []string{"tree.yaml", "mapping.yaml", "policies/host-namespace.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", "gate", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, []string{"--trees", filepath.Join(dir, "tree.yaml"), "--trees-mode", "replace",
		"--mapping", filepath.Join(dir, "mapping.yaml"), "--policies", filepath.Join(dir, "policies"), "--date", "2026-11-28"}
}

func setEnforcement(t *testing.T, dir, from, to string) {
	t.Helper()
	p := filepath.Join(dir, "policies", "host-namespace.yaml")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "enforcementAction: "+from, "enforcementAction: "+to, 1)
	if edited == string(data) {
		t.Fatalf("no enforcementAction: %s in %s", from, p)
	}
	if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGateScenario is issue 5's scripted scenario: a baseline is written, the constraint is
// switched from deny to dryrun and check fails naming the paths that opened and why; restored,
// check passes.
func TestGateScenario(t *testing.T) {
	dir, analysis := gateFixture(t)
	base := filepath.Join(dir, "baseline.json")
	if code, _, stderr := runCLI(t, append([]string{"baseline", "write", base}, analysis...)...); code != exitOK {
		t.Fatalf("baseline write: exit %d: %s", code, stderr)
	}

	setEnforcement(t, dir, "deny", "dryrun")
	code, out, stderr := runCLI(t, append([]string{"check", "--baseline", base}, analysis...)...)
	if code != exitGate {
		t.Fatalf("check after dryrun: exit %d, want %d\n%s%s", code, exitGate, out, stderr)
	}
	for _, want := range []string{
		// The failures are counted; the comparison names each path with its causes, said once.
		`[new-open-paths] 2 failures: the paths opened`,
		"1. policy gatekeeper:K8sPSPHostNamespace/psp-host-namespace switched from enforce to monitor (dryrun/warn/audit): it flags these steps but no longer blocks them (1 step; 2 paths opened)",
		"Gate scenario › Run code on the node: Start a pod in the host PID namespace  [causes 1]",
		"Gate scenario › Read the node's secrets: Start a pod in the host PID namespace + Steal a service account token  [causes 1]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}

	// The same regression as JSON: the figures are those of the analysis.
	code, out, _ = runCLI(t, append([]string{"check", "--baseline", base, "-o", "json", "--fail-on", "new-open-goals"}, analysis...)...)
	if code != exitGate {
		t.Fatalf("check -o json: exit %d", code)
	}
	var outcome struct {
		Passed   bool
		Failures []struct{ Rule, Message string }
	}
	if err := json.Unmarshal([]byte(out), &outcome); err != nil {
		t.Fatalf("check -o json: %v\n%s", err, out)
	}
	if outcome.Passed || len(outcome.Failures) != 1 || outcome.Failures[0].Rule != "new-open-goals" {
		t.Errorf("check -o json --fail-on new-open-goals: %+v", outcome)
	}

	// A baseline written while the constraint was in dryrun: restoring deny closes paths, and
	// check says to rewrite the baseline so that reopening them would fail.
	weak := filepath.Join(dir, "weak.json")
	if code, _, stderr := runCLI(t, append([]string{"baseline", "write", weak}, analysis...)...); code != exitOK {
		t.Fatalf("baseline write: exit %d: %s", code, stderr)
	}
	setEnforcement(t, dir, "dryrun", "deny")
	if code, out, stderr := runCLI(t, append([]string{"check", "--baseline", base}, analysis...)...); code != exitOK {
		t.Fatalf("check after restoring: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, append([]string{"check", "--baseline", weak, "--fail-on", "new-open-paths"}, analysis...)...)
	if code != exitOK || !strings.Contains(out, "closed since the baseline: rewrite it (threatcov baseline write "+weak+" --date 2026-11-28 --mapping ") {
		t.Errorf("check against the weaker baseline: exit %d, want a note to rewrite it:\n%s%s", code, out, stderr)
	}
}

func TestCheckThresholdsAndErrors(t *testing.T) {
	_, analysis := gateFixture(t)
	dir := t.TempDir()
	foreign := filepath.Join(dir, "old.json")
	if err := os.WriteFile(foreign, []byte(`{"schemaVersion": "threatcov.dev/report/v0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		code       int
		wantOut    string
		wantStderr string
	}{
		// The fixture's path coverage is 2/3, goal coverage 1/2.
		{"thresholds met", []string{"check", "--min-path-coverage", "66.66", "--min-goal-coverage", "50"}, exitOK, "PASSED", ""},
		{"path threshold missed", []string{"check", "--min-path-coverage", "66.67"}, exitGate, "[min-path-coverage] path coverage 2/3 (66.67%) is below the threshold of 66.67%", ""},
		{"any open goal by default", []string{"check"}, exitGate, `[any-open-goal] goal "Run code on the node" (gate-goal) is open`, ""},
		{"bad threshold", []string{"check", "--min-path-coverage", "120"}, exitInput, "", "--min-path-coverage"},
		{"bad rule", []string{"check", "--fail-on", "everything"}, exitInput, "", `unknown --fail-on "everything"`},
		{"rule needs a baseline", []string{"check", "--fail-on", "new-open-paths"}, exitInput, "", "give --baseline FILE"},
		{"baseline of another schema", []string{"check", "--baseline", foreign}, exitInput, "", `the file has schema "threatcov.dev/report/v0"`},
		{"bad report flag", []string{"check", "--report", "pdf=out.pdf"}, exitInput, "", `--report "pdf=out.pdf": use FORMAT=FILE`},
		{"missing baseline", []string{"check", "--baseline", filepath.Join(dir, "absent.json")}, exitInput, "", "read report"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, append(tt.args, analysis...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, stderr)
			}
			if !strings.Contains(out, tt.wantOut) || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stdout %q / stderr %q, want %q / %q", out, stderr, tt.wantOut, tt.wantStderr)
			}
		})
	}
}

func TestCheckWritesReports(t *testing.T) {
	_, analysis := gateFixture(t)
	dir := t.TempDir()
	sarif, junit := filepath.Join(dir, "out.sarif"), filepath.Join(dir, "out.xml")
	code, _, stderr := runCLI(t, append([]string{"check", "--min-path-coverage", "10", "--report", "sarif=" + sarif, "--report", "junit=" + junit}, analysis...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// SARIF reports steps (the unmapped gate-token is open), JUnit goals.
	for f, want := range map[string]string{sarif: "gate-token", junit: "gate-goal"} {
		data, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(data), want) {
			t.Errorf("%s: %v, lacks %s", f, err, want)
		}
	}
}

func TestDiffCommand(t *testing.T) {
	dir, analysis := gateFixture(t)
	before, after := filepath.Join(dir, "before.json"), filepath.Join(dir, "after.json")
	if code, _, stderr := runCLI(t, append([]string{"analyze", "-o", "json", "--file", before}, analysis...)...); code != exitOK {
		t.Fatal(stderr)
	}
	setEnforcement(t, dir, "deny", "dryrun")
	if code, _, stderr := runCLI(t, append([]string{"analyze", "-o", "json", "--file", after}, analysis...)...); code != exitOK {
		t.Fatal(stderr)
	}
	code, out, stderr := runCLI(t, "diff", before, after, "-o", "markdown")
	if code != exitOK {
		t.Fatalf("diff: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"### Paths opened (2)", "| open paths | 1 | 3 |", "blocked (verified) | monitored"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff -o markdown lacks %q:\n%s", want, out)
		}
	}
	junk := filepath.Join(dir, "junk.json")
	if err := os.WriteFile(junk, []byte("{\"schemaVersion\": \"threatcov.dev/report/v1\",\n\"trees\": [,"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "diff", before, junk); code != exitInput || !strings.Contains(stderr, junk+":2: invalid JSON") {
		t.Errorf("diff with a broken file: exit %d, stderr %q", code, stderr)
	}
}

func TestRenderCommand(t *testing.T) {
	_, analysis := gateFixture(t)
	out := filepath.Join(t.TempDir(), "svg")
	code, stdout, stderr := runCLI(t, append([]string{"render", "--dir", out}, analysis...)...)
	if code != exitOK {
		t.Fatalf("render: exit %d: %s", code, stderr)
	}
	svg, err := os.ReadFile(filepath.Join(out, "gate.svg"))
	if err != nil {
		t.Fatalf("%v (stdout %q)", err, stdout)
	}
	if !strings.Contains(string(svg), `<g id="gate&#45;hostpid" class="node">`) {
		t.Errorf("gate.svg lacks the node gate-hostpid")
	}
	code, _, _ = runCLI(t, append([]string{"render", "gate", "--dir", out, "--format", "dot"}, analysis...)...)
	if code != exitOK {
		t.Fatal("render --format dot failed")
	}
	if _, err := os.Stat(filepath.Join(out, "gate.dot")); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, append([]string{"render", "nope", "--dir", out}, analysis...)...); code != exitInput || !strings.Contains(stderr, `no tree "nope"`) {
		t.Errorf("render of an unknown tree: exit %d, stderr %q", code, stderr)
	}
}

// TestMappingSuggest: policies that block steps under their own names are written as mapping
// entries; analysed with that file, the steps have no discovered policy left and stay blocked.
func TestMappingSuggest(t *testing.T) {
	policies := "../../e2e/redteam/38-own-konstraint-ids-correct/policies"
	file := filepath.Join(t.TempDir(), "suggested.yaml")
	code, _, stderr := runCLI(t, "mapping", "suggest", "--policies", policies, "--file", file, "--date", "2026-12-01")
	if code != exitOK {
		t.Fatalf("mapping suggest: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "discovered") || !strings.Contains(stderr, "steps have blocking policies the mapping does not name") {
		t.Fatalf("no discovered entries:\n%s\n%s", data, stderr)
	}
	code, out, stderr := runCLI(t, "analyze", "--policies", policies, "--mapping", file, "--date", "2026-12-01", "-o", "json")
	if code != exitOK {
		t.Fatalf("analyze with the suggested mapping: exit %d: %s", code, stderr)
	}
	var res struct {
		Steps []struct {
			Node, Status string
			Discovered   []string
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Steps {
		if len(s.Discovered) > 0 {
			t.Errorf("%s still has discovered policies %v with the suggested mapping", s.Node, s.Discovered)
		}
		if strings.Contains(string(data), "["+s.Node+"]") && s.Status != "blocked" {
			t.Errorf("%s is %s, want blocked", s.Node, s.Status)
		}
	}
}

// TestBaselineStable: baselines written on other days (two --date, and the wall clock) from
// other spellings of the same policy folder and mapping file (relative, absolute, with a
// trailing slash, with ./ and ..) are byte-identical: a baseline changes only when coverage
// does. It runs where a CI job does, at the root of the repository. The attestation in the
// mapping expires after every day used, so coverage is the same.
func TestBaselineStable(t *testing.T) {
	dir := t.TempDir()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	runs := []struct{ policies, mapping, date string }{
		{"examples/platform", "examples/attestations.yaml", "2026-12-01"},
		{filepath.Join(root, "examples/platform"), filepath.Join(root, "examples/attestations.yaml"), "2027-03-15"},
		{"examples/platform/", "./examples/attestations.yaml", ""},
		{"./examples/platform/", "examples/../examples/attestations.yaml", "2026-12-06"},
		{filepath.Join(root, "examples/platform") + "/", "./examples//attestations.yaml", "2027-06-29"},
	}
	var first []byte
	for i, run := range runs {
		file := filepath.Join(dir, fmt.Sprintf("b%d.json", i))
		args := []string{"baseline", "write", file, "--policies", run.policies, "--mapping", run.mapping}
		if run.date != "" {
			args = append(args, "--date", run.date)
		}
		if code, _, stderr := runCLI(t, args...); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = data
			for _, bad := range []string{`"date"`, "generatedAt", root} {
				if strings.Contains(string(data), bad) {
					t.Errorf("the baseline carries %q", bad)
				}
			}
			for _, want := range []string{`"examples/platform"`, `"examples/attestations.yaml"`} {
				if !strings.Contains(string(data), want) {
					t.Errorf("the baseline does not name its input as %s", want)
				}
			}
			continue
		}
		if !bytes.Equal(first, data) {
			t.Errorf("%v: the baseline differs from the first:\n%s", args, cmp.Diff(string(first), string(data)))
		}
	}
}
