package mapping_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/frameworks"
	"github.com/threatcov/threatcov/mapping"
)

// Every technique id written in mapping/default.yaml, read from the text rather than through
// the parser (so a field the parser dropped cannot hide an id), is a real, current technique of
// the framework version frameworks embeds.
func TestDefaultFrameworkIDsAreReal(t *testing.T) {
	raw, err := os.ReadFile("default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	field := regexp.MustCompile(`(?m)^\s+(attack|threat-matrix):\s*\[([^\]]*)\]`)
	matches := field.FindAllStringSubmatch(string(raw), -1)
	if len(matches) < 50 {
		t.Fatalf("only %d attack/threat-matrix lines in default.yaml", len(matches))
	}
	n := 0
	for _, m := range matches {
		fw := frameworks.Get(frameworks.ATTACK)
		if m[1] == "threat-matrix" {
			fw = frameworks.Get(frameworks.ThreatMatrix)
		}
		for _, id := range strings.Split(m[2], ",") {
			n++
			if err := fw.Check(strings.TrimSpace(id)); err != nil {
				t.Error(err)
			}
		}
	}
	t.Logf("%d ids checked", n)
}

// noTechnique are the default entries that name no ATT&CK technique, with the reason. Every
// other entry names at least one, so a new entry cannot silently drop out of the layer.
var noTechnique = map[string]string{
	"mce-find-container-executing-configmap": "a ConfigMap that a container runs as a script: no ATT&CK technique is specific enough",
	"View logs in authorised location":       "reading logs one is authorised to read is no attacker technique",
	"Restart container":                      "a restart is the trigger of the step before it, not a technique",
	"Find Pod/App utilising config file":     "choosing a target, not a technique",
	"Compromise container":                   "a goal reached through the techniques of its children",
}

func TestDefaultEntriesNameTechniques(t *testing.T) {
	f, err := mapping.Default()
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, e := range f.Steps {
		first := slices.Concat(e.Nodes, e.Labels, e.Refs)[0]
		_, excused := noTechnique[first]
		if (len(e.Attack) == 0) != excused {
			missing = append(missing, fmt.Sprintf("%s:%d %q (attack %v, excused %v)", e.File, e.Line, first, e.Attack, excused))
		}
	}
	if len(missing) > 0 {
		t.Errorf("entries without an ATT&CK technique must be listed in noTechnique, with the reason, and only those:\n%s", strings.Join(missing, "\n"))
	}
}

func TestFrameworkIDsInUserMappings(t *testing.T) {
	cat, err := attacktrees.Default()
	if err != nil {
		t.Fatal(err)
	}
	def, err := mapping.Default()
	if err != nil {
		t.Fatal(err)
	}
	const node = "mce-find-pod-with-hostpid"
	resolve := func(t *testing.T, text string) *mapping.Step {
		t.Helper()
		f, err := mapping.Parse([]byte(text), "user.yaml")
		if err != nil {
			t.Fatal(err)
		}
		m, err := mapping.Resolve(cat, defaultFamilies(t), false, def, f)
		if err != nil {
			t.Fatal(err)
		}
		return m.Step(node)
	}
	ids := func(s *mapping.Step) string { return fmt.Sprint(s.Attack, s.ThreatMatrix, s.Policies) }

	base := resolve(t, "version: 1\n")
	if got := ids(base); !strings.Contains(got, "T1611") {
		t.Fatalf("default step of %s: %s", node, got)
	}
	for _, c := range []struct {
		name, file, want string
	}{
		{"annotation replaces the ids of one framework, keeps the mapping",
			"version: 1\nsteps:\n  - nodes: [" + node + "]\n    attack: [T1611]\n",
			fmt.Sprint([]string{"T1611"}, base.ThreatMatrix, base.Policies)},
		{"annotation of the other framework",
			"version: 1\nsteps:\n  - nodes: [" + node + "]\n    threat-matrix: [MS-TA9018]\n",
			fmt.Sprint(base.Attack, []string{"MS-TA9018"}, base.Policies)},
		{"a new mapping without ids keeps the default's ids",
			"version: 1\nsteps:\n  - nodes: [" + node + "]\n    probes: [host-pid]\n    policies: [rego:ours]\n",
			fmt.Sprint(base.Attack, base.ThreatMatrix, []string{"rego:ours"})},
		{"a new mapping with ids replaces them",
			"version: 1\nsteps:\n  - nodes: [" + node + "]\n    probes: [host-pid]\n    policies: [rego:ours]\n    attack: [T1611, T1610, T1611]\n",
			fmt.Sprint([]string{"T1610", "T1611"}, base.ThreatMatrix, []string{"rego:ours"})},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ids(resolve(t, c.file)); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestFrameworkIDErrors(t *testing.T) {
	for _, c := range []struct{ name, file, want string }{
		{"unknown ATT&CK id", "version: 1\nsteps:\n  - nodes: [x]\n    attack: [T1611, T9999]\n",
			`u.yaml:3: "T9999" is not a technique of MITRE ATT&CK Enterprise v18.1`},
		{"deprecated ATT&CK id", "version: 1\nsteps:\n  - nodes: [x]\n    attack: [T1064]\n",
			`u.yaml:3: "T1064" is not a technique of MITRE ATT&CK Enterprise v18.1`},
		{"Threat Matrix id in the attack field", "version: 1\nsteps:\n  - nodes: [x]\n    attack: [MS-TA9008]\n",
			`u.yaml:3: "MS-TA9008" is not a technique of MITRE ATT&CK Enterprise v18.1`},
		{"unknown Threat Matrix id", "version: 1\nsteps:\n  - nodes: [x]\n    threat-matrix: [MS-TA9032]\n",
			`u.yaml:3: "MS-TA9032" is not a technique of Threat Matrix for Kubernetes v2023-01-23`},
		{"ids with a note are not an annotation", "version: 1\nsteps:\n  - nodes: [x]\n    attack: [T1611]\n    note: hi\n",
			"u.yaml:3: an entry is exactly one of"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := mapping.Parse([]byte(c.file), "u.yaml")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
	// An annotation of a node nothing mapped is a warning, an error with --strict.
	cat, _ := attacktrees.Default()
	f, err := mapping.Parse([]byte("version: 1\nsteps:\n  - nodes: [mce-find-pod-with-hostpid]\n    attack: [T1611]\n"), "u.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Resolve(cat, defaultFamilies(t), false, f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`u.yaml:3: node "mce-find-pod-with-hostpid" has no mapping to annotate with techniques: map it (policies, out-of-scope or attestable) in an earlier entry or file`}
	if diff := cmp.Diff(want, m.Warnings); diff != "" {
		t.Error(diff)
	}
}
