package frameworks

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The embedded lists hold what was extracted, and each id has its framework's form.
func TestEmbeddedData(t *testing.T) {
	attack, tm := Get(ATTACK), Get(ThreatMatrix)
	for _, c := range []struct {
		f          *Framework
		techniques int
		tactics    int
		form       *regexp.Regexp
	}{
		{attack, 691, 14, regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)},
		{tm, 40, 10, regexp.MustCompile(`^MS-TA9\d{3}$`)},
	} {
		if got := len(c.f.Techniques()); got != c.techniques {
			t.Errorf("%s: %d techniques, want %d", c.f.ID, got, c.techniques)
		}
		if got := len(c.f.Tactics()); got != c.tactics {
			t.Errorf("%s: %d tactics, want %d", c.f.ID, got, c.tactics)
		}
		for _, tech := range c.f.Techniques() {
			if !c.form.MatchString(tech.ID) || tech.Name == "" || len(tech.Tactics) == 0 {
				t.Errorf("%s: malformed technique %+v", c.f.ID, tech)
			}
			if p := tech.Parent(); p != "" {
				if _, ok := c.f.Technique(p); !ok {
					t.Errorf("%s: sub-technique %s has no parent %s", c.f.ID, tech.ID, p)
				}
			}
		}
	}
	// Spot checks against the published pages.
	if te, _ := attack.Technique("T1611"); te == nil || te.Name != "Escape to Host" || strings.Join(te.Tactics, ",") != "privilege-escalation" {
		t.Errorf("T1611 = %+v", te)
	}
	if te, _ := tm.Technique("MS-TA9013"); te == nil || te.Name != "Writable hostPath mount" ||
		strings.Join(te.Tactics, ",") != "Persistence,Privilege Escalation,Lateral Movement" {
		t.Errorf("MS-TA9013 = %+v", te)
	}
	containers := 0
	for _, te := range attack.Techniques() {
		for _, p := range te.Platforms {
			if p == "Containers" {
				containers++
			}
		}
	}
	if containers != 48 {
		t.Errorf("%d techniques of the Containers platform, want 48 (ATT&CK v18.1)", containers)
	}
}

// Every ATT&CK id the Threat Matrix names is a technique of the embedded ATT&CK version.
func TestThreatMatrixNamesRealATTACK(t *testing.T) {
	for _, te := range Get(ThreatMatrix).Techniques() {
		for _, id := range te.Attack {
			if err := Get(ATTACK).Check(id); err != nil {
				t.Errorf("%s: %v", te.ID, err)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	if err := Get(ATTACK).Check("T1552.007"); err != nil {
		t.Error(err)
	}
	for _, id := range []string{"T1552.999", "T1", "t1611", "MS-TA9008"} {
		if Get(ATTACK).Check(id) == nil {
			t.Errorf("%s accepted as an ATT&CK technique", id)
		}
	}
	// T1053.002 (At) is real; T1064 (Scripting) was deprecated and is not in v18.1's list.
	if Get(ATTACK).Check("T1064") == nil {
		t.Error("deprecated T1064 accepted")
	}
	if Get(ThreatMatrix).Check("MS-TA9032") == nil {
		t.Error("MS-TA9032 (retired) accepted")
	}
}

// Each technique's page is the source of a mapping to it.
func TestURL(t *testing.T) {
	for _, c := range []struct{ fw, id, want string }{
		{ATTACK, "T1611", "https://attack.mitre.org/techniques/T1611/"},
		{ATTACK, "T1552.007", "https://attack.mitre.org/techniques/T1552/007/"},
		{ThreatMatrix, "MS-TA9008", "https://microsoft.github.io/Threat-Matrix-for-Kubernetes/techniques/New%20Container/"},
		{ThreatMatrix, "MS-TA9009", "https://microsoft.github.io/Threat-Matrix-for-Kubernetes/techniques/Application%20Exploit%20%28RCE%29/"},
	} {
		if got := Get(c.fw).URL(c.id); got != c.want {
			t.Errorf("URL(%s) = %s, want %s", c.id, got, c.want)
		}
	}
}

// The licence texts ship beside the data they cover.
func TestLicences(t *testing.T) {
	for file, want := range map[string]string{
		"data/ATTACK-LICENSE.txt":        "The MITRE Corporation (MITRE) hereby grants you",
		"data/THREAT-MATRIX-LICENSE.txt": "Creative Commons Attribution 4.0 International Public License",
	} {
		b, err := os.ReadFile(file)
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: missing or without %q (%v)", file, want, err)
		}
	}
}
