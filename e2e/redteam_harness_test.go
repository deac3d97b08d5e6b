package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/analyzer"
)

// The harness must fail when a set is not met, so its two decisions are tested on their own:
// reading expect.yaml (mistakes in a set are errors, not silently weaker checks) and comparing
// a step with its expectation.

func TestReadRedTeamExpectRejects(t *testing.T) {
	good := "description: d\nexpect:\n  - node: n\n    status: bypassed\n    why: w\n"
	for name, tc := range map[string]struct{ yaml, want string }{
		"unknown field":            {good + "    admited: [x/y]\n", "field admited not found"},
		"no description":           {"expect:\n  - node: n\n    status: open\n    why: w\n", "description is empty"},
		"no expectations":          {"description: d\nexpect: []\n", "expect is empty"},
		"no node":                  {"description: d\nexpect:\n  - status: open\n    why: w\n", "node is empty"},
		"no why":                   {"description: d\nexpect:\n  - node: n\n    status: open\n", "why is empty"},
		"unknown status":           {"description: d\nexpect:\n  - node: n\n    status: closed\n    why: w\n", `status "closed"`},
		"attested is not expected": {"description: d\nexpect:\n  - node: n\n    status: attested\n    why: w\n", `status "attested"`},
		"blocked among others":     {"description: d\nexpect:\n  - node: n\n    status: [blocked, open]\n    why: w\n", "blocked is never one of several"},
		"blocked admits nothing":   {"description: d\nexpect:\n  - node: n\n    status: blocked\n    namespace: apps\n    why: w\n", "a blocked step admits nothing"},
		"second document":          {good + "---\n" + good, "one YAML document expected"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "expect.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := readRedTeamExpect(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("readRedTeamExpect: got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestReadRedTeamExpectStatusList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "expect.yaml")
	if err := os.WriteFile(path, []byte("description: d\nexpect:\n  - node: n\n    status: [open, bypassed]\n    why: w\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e, err := readRedTeamExpect(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Expect[0].Status.String(); got != "open or bypassed" {
		t.Fatalf("status = %q, want open or bypassed", got)
	}
}

func TestCompareStep(t *testing.T) {
	bypassed := analyzer.StepResult{Status: analyzer.StatusBypassed, Admitted: []string{"host-pid/deployment@apps", "host-pid/cronjob@legacy"}}
	for name, tc := range map[string]struct {
		x    stepExpect
		got  analyzer.StepResult
		want []string // substrings of the message; none means the step meets the expectation
	}{
		"met":            {x: stepExpect{Status: statusSet{analyzer.StatusBypassed}, Admitted: []string{"host-pid/deployment"}, Namespace: "legacy"}, got: bypassed},
		"one of several": {x: stepExpect{Status: statusSet{analyzer.StatusOpen, analyzer.StatusBypassed}}, got: bypassed},
		"false green": {x: stepExpect{Status: statusSet{analyzer.StatusBypassed}}, got: analyzer.StepResult{Status: analyzer.StatusBlocked},
			want: []string{"want bypassed, got blocked", "FALSE GREEN"}},
		"false red": {x: stepExpect{Status: statusSet{analyzer.StatusBlocked}}, got: bypassed,
			want: []string{"want blocked, got bypassed", "false red"}},
		"other status": {x: stepExpect{Status: statusSet{analyzer.StatusMonitored}}, got: analyzer.StepResult{Status: analyzer.StatusOpen},
			want: []string{"want monitored, got open"}},
		"probe not admitted": {x: stepExpect{Status: statusSet{analyzer.StatusBypassed}, Admitted: []string{"host-pid/pod"}}, got: bypassed,
			want: []string{"want host-pid/pod admitted"}},
		"probe name is not a prefix match": {x: stepExpect{Status: statusSet{analyzer.StatusBypassed}, Admitted: []string{"host-pid/deploy"}}, got: bypassed,
			want: []string{"want host-pid/deploy admitted"}},
		"probe admitted in the named namespace": {x: stepExpect{Status: statusSet{analyzer.StatusBypassed}, Admitted: []string{"host-pid/cronjob@legacy"}}, got: bypassed},
		"probe admitted elsewhere": {x: stepExpect{Status: statusSet{analyzer.StatusBypassed}, Admitted: []string{"host-pid/cronjob@apps"}}, got: bypassed,
			want: []string{"want host-pid/cronjob@apps admitted"}},
		"namespace not admitted": {x: stepExpect{Status: statusSet{analyzer.StatusBypassed}, Namespace: "ci"}, got: bypassed,
			want: []string{"some probe admitted in ci"}},
	} {
		t.Run(name, func(t *testing.T) {
			msg := compareStep(tc.x, tc.got)
			if len(tc.want) == 0 && msg != "" {
				t.Fatalf("compareStep = %q, want no complaint", msg)
			}
			if len(tc.want) > 0 && msg == "" {
				t.Fatalf("compareStep found nothing, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("compareStep = %q, want it to contain %q", msg, w)
				}
			}
		})
	}
}
