package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestFixThenAnalyze is the loop a team runs: fix on the example policy set writes policies
// and promises the paths they close; analyze with the written folder added must find exactly
// those paths closed, and the steps fix named blocked.
func TestFixThenAnalyze(t *testing.T) {
	const example = "../../examples/platform"
	dir := filepath.Join(t.TempDir(), "fixes")
	code, out, errOut := runCLI(t, "fix", "--policies", example, "--dir", dir)
	if code != exitOK {
		t.Fatalf("fix: exit %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`they close (\d+) of (\d+) open paths`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("fix printed no promise:\n%s", out)
	}
	promised, _ := strconv.Atoi(m[1])
	openBefore, _ := strconv.Atoi(m[2])
	if promised == 0 {
		t.Fatalf("fix promised nothing on the example:\n%s", out)
	}
	files, err := filepath.Glob(filepath.Join(dir, "vap-*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("fix wrote no VAP files to %s: %v", dir, err)
	}

	analyze := func(policies ...string) report {
		args := []string{"analyze", "-o", "json"}
		for _, p := range policies {
			args = append(args, "--policies", p)
		}
		code, out, errOut := runCLI(t, args...)
		if code != exitOK {
			t.Fatalf("analyze %v: exit %d: %s", policies, code, errOut)
		}
		var r report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	before, after := analyze(example), analyze(example, dir)
	if before.Summary.Paths.Open != openBefore {
		t.Errorf("fix counted %d open paths before, analyze %d", openBefore, before.Summary.Paths.Open)
	}
	if closed := before.Summary.Paths.Open - after.Summary.Paths.Open; closed != promised {
		t.Errorf("fix promised %d paths; analyze with %s added closed %d (%d open before, %d after)", promised, dir, closed, before.Summary.Paths.Open, after.Summary.Paths.Open)
	}
	// The steps fix names are in the rows of its table (RANK POLICY FILE CLOSES STEPS).
	var rows strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if regexp.MustCompile(`^  \d+ `).MatchString(line) {
			rows.WriteString(line + ",")
		}
	}
	wasBlocked := map[string]bool{}
	for _, s := range before.Steps {
		wasBlocked[s.Node] = s.Status == "blocked"
	}
	namedCount := 0
	for _, s := range after.Steps {
		named := strings.Contains(rows.String(), " "+s.Node+",")
		if named {
			namedCount++
		}
		switch {
		case named && s.Status != "blocked":
			t.Errorf("fix named %s closed; analyze says %s", s.Node, s.Status)
		case !named && s.Status == "blocked" && !wasBlocked[s.Node]:
			t.Errorf("%s is blocked after fix, which did not name it", s.Node)
		}
	}
	if namedCount == 0 {
		t.Errorf("fix's table names no step:\n%s", out)
	}
}

// TestFixWarnMode: in warn mode fix says the re-analysis counts the steps as monitored, and
// closes no path.
func TestFixWarnMode(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "fix", "--policies", "../../examples/platform", "--dir", dir, "--mode", "warn", "--engine", "gatekeeper")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"mode warn: the written policies only flag", "(gatekeeper, mode warn)"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, "gatekeeper-host-path.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "enforcementAction: warn") {
		t.Errorf("gatekeeper-host-path.yaml does not warn:\n%s", data)
	}
}

func TestFixInputErrors(t *testing.T) {
	broken := filepath.Join(t.TempDir(), "deploy.yaml")
	if err := os.WriteFile(broken, []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"fix", "--policies", "../../examples/platform"}, "--dir FOLDER"},
		{[]string{"fix", "--policies", "../../examples/platform", "--dir", "x", "--mode", "Deny"}, `--mode "Deny": use deny, warn, dryrun`},
		{[]string{"fix", "--policies", "../../examples/platform", "--dir", "x", "--engine", "kyverno"}, `--engine "kyverno": use vap or gatekeeper`},
		{[]string{"fix", "--policies", "../../examples/platform", "--dir", "x", "--include", "nope"}, "--include nope: no such reference policy"},
		{[]string{"fix", "--policies", "../../examples/platform", "--dir", "x", "--include", "allowed-registries"}, "--include allowed-registries: give the registries"},
		{[]string{"fix", "--policies", "../../examples/platform", "--dir", "x", "--existing", broken}, broken + ":4: yaml: line 3: did not find expected ',' or ']'; fix the YAML syntax or remove the file from --existing"},
		{[]string{"fix", "--policies", "../../examples/platform", "--dir", "x", "--existing", "no-such-folder"}, "check the --existing path"},
		{[]string{"fix", "--policies", "../../examples/platform", "--policies", "fixes/", "--dir", "fixes"}, "--dir fixes is also a --policies path"},
	} {
		code, _, errOut := runCLI(t, c.args...)
		if code != exitInput || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// report is the part of the JSON report these tests read.
type report struct {
	Summary struct {
		Paths struct {
			Open int `json:"open"`
		} `json:"paths"`
	} `json:"summary"`
	Steps []struct {
		Node   string `json:"node"`
		Status string `json:"status"`
	} `json:"steps"`
}
