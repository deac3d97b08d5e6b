package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFrameworksList(t *testing.T) {
	code, _, errOut := runCLI(t, "frameworks", "list", "--framework", "attack,mitre")
	if code != exitInput || !strings.Contains(errOut, `unknown framework "mitre": use one of attack, threat-matrix`) {
		t.Errorf("unknown framework: exit %d, stderr %q", code, errOut)
	}

	code, out, errOut := runCLI(t, "frameworks", "list", "--policies", "../../examples/platform", "--framework", "threat-matrix", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var list struct {
		Frameworks []struct {
			ID         string
			Techniques []struct {
				ID       string
				Steps    []string
				Coverage struct{ Covered, Total int }
				Blocking []string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Frameworks) != 1 || list.Frameworks[0].ID != "threat-matrix" {
		t.Fatalf("frameworks listed: %+v", list.Frameworks)
	}
	proven := 0
	for _, te := range list.Frameworks[0].Techniques {
		if !strings.HasPrefix(te.ID, "MS-TA9") || len(te.Steps) == 0 {
			t.Errorf("technique %+v", te)
		}
		if te.Coverage.Covered > 0 {
			proven++
			if len(te.Blocking) == 0 {
				t.Errorf("%s: proven coverage without a blocking policy or attestation", te.ID)
			}
		}
	}
	if proven == 0 {
		t.Error("the example platform proves no Threat Matrix technique covered")
	}

	// --all lists the whole framework.
	code, out, _ = runCLI(t, "frameworks", "list", "--framework", "threat-matrix", "--all")
	if code != exitOK || strings.Count(out, "\nMS-TA9") != 40 {
		t.Errorf("--all: exit %d, %d techniques", code, strings.Count(out, "\nMS-TA9"))
	}
}

// A user mapping that names an unknown technique fails before any policy runs, naming the
// file and line.
func TestUnknownTechniqueInMapping(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.yaml")
	if err := os.WriteFile(p, []byte("version: 1\nsteps:\n  - nodes: [mce-find-pod-with-hostpid]\n    attack: [T1610.999]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, "analyze", "--mapping", p, "-o", "navigator")
	if code != exitInput || !strings.Contains(errOut, p+`:3: "T1610.999" is not a technique of MITRE ATT&CK Enterprise v18.1`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
