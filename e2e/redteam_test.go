package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/internal/testenv"
	"github.com/threatcov/threatcov/pipeline"
	"github.com/threatcov/threatcov/policies"
)

// redTeamDir holds the red-team policy sets: one folder per set, each with policies/,
// expect.yaml and README.md (redteam/README.md describes the layout and the schema).
const redTeamDir = "redteam"

// minRedTeamSets is the size the suite promises (issue #15): fewer folders means a set was
// lost, not that the suite got smaller on purpose.
const minRedTeamSets = 30

// redTeamExpect is a set's expect.yaml.
type redTeamExpect struct {
	Description string `yaml:"description"`
	Config      struct {
		Namespaces []string `yaml:"namespaces"`
		Mappings   []string `yaml:"mappings"`
	} `yaml:"config"`
	Expect []stepExpect `yaml:"expect"`
}

// stepExpect is what a correct engine must say about one step of the catalog.
type stepExpect struct {
	Node string `yaml:"node"`
	// Status is one status, or a list of statuses any of which is right (only where the
	// design leaves the exact word open; the set's README argues it).
	Status statusSet `yaml:"status"`
	// Admitted are probes (family/variant, admitted in any namespace, or
	// family/variant@namespace) that must be among the admitted ones.
	Admitted  []string `yaml:"admitted"`
	Namespace string   `yaml:"namespace"`
	Why       string   `yaml:"why"`
}

// statusSet accepts `status: bypassed` and `status: [bypassed, open]`.
type statusSet []analyzer.Status

func (s *statusSet) UnmarshalYAML(n *yaml.Node) error {
	var one string
	if n.Kind == yaml.ScalarNode {
		if err := n.Decode(&one); err != nil {
			return err
		}
		*s = statusSet{analyzer.Status(one)}
		return nil
	}
	var many []string
	if err := n.Decode(&many); err != nil {
		return err
	}
	for _, m := range many {
		*s = append(*s, analyzer.Status(m))
	}
	return nil
}

func (s statusSet) String() string {
	parts := make([]string, len(s))
	for i, st := range s {
		parts[i] = string(st)
	}
	return strings.Join(parts, " or ")
}

// expectable are the statuses an expect.yaml may name: attested and out-of-scope come from
// the mapping, not from policies, so a policy set cannot be expected to produce them.
var expectable = []analyzer.Status{analyzer.StatusBlocked, analyzer.StatusBypassed, analyzer.StatusMonitored, analyzer.StatusOpen}

// readRedTeamExpect decodes a set's expect.yaml strictly and checks it is complete.
func readRedTeamExpect(path string) (*redTeamExpect, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var e redTeamExpect
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := dec.Decode(new(any)); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: one YAML document expected", path)
	}
	if strings.TrimSpace(e.Description) == "" {
		return nil, fmt.Errorf("%s: description is empty: say in one line what the set holds", path)
	}
	if len(e.Expect) == 0 {
		return nil, fmt.Errorf("%s: expect is empty: name at least one step and its status", path)
	}
	for i, x := range e.Expect {
		where := fmt.Sprintf("%s: expect[%d] (%s)", path, i, x.Node)
		if x.Node == "" {
			return nil, fmt.Errorf("%s: node is empty", where)
		}
		if len(x.Status) == 0 {
			return nil, fmt.Errorf("%s: status is empty", where)
		}
		for _, st := range x.Status {
			if !slices.Contains(expectable, st) {
				return nil, fmt.Errorf("%s: status %q: use blocked, bypassed, monitored or open", where, st)
			}
		}
		if len(x.Status) > 1 && slices.Contains(x.Status, analyzer.StatusBlocked) {
			return nil, fmt.Errorf("%s: status %s: blocked is never one of several acceptable answers", where, x.Status)
		}
		if strings.TrimSpace(x.Why) == "" {
			return nil, fmt.Errorf("%s: why is empty: say why a correct engine gives this status", where)
		}
		if (len(x.Admitted) > 0 || x.Namespace != "") && slices.Contains(x.Status, analyzer.StatusBlocked) {
			return nil, fmt.Errorf("%s: admitted and namespace name what gets through; a blocked step admits nothing", where)
		}
	}
	return &e, nil
}

// redTeamSets lists the set folders, sorted.
func redTeamSets(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(redTeamDir)
	if err != nil {
		t.Fatal(err)
	}
	var sets []string
	for _, e := range entries {
		if e.IsDir() {
			sets = append(sets, e.Name())
		}
	}
	return sets
}

// TestRedTeamSuiteShape holds every set to the layout: policies, a README that argues the
// expectations, a complete expect.yaml; and the suite to its size.
func TestRedTeamSuiteShape(t *testing.T) {
	sets := redTeamSets(t)
	if len(sets) < minRedTeamSets {
		t.Errorf("%d red-team sets in %s, want at least %d", len(sets), redTeamDir, minRedTeamSets)
	}
	for _, set := range sets {
		dir := filepath.Join(redTeamDir, set)
		if fi, err := os.Stat(filepath.Join(dir, "policies")); err != nil || !fi.IsDir() {
			t.Errorf("%s: no policies/ folder", set)
		}
		readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
		if err != nil || len(bytes.TrimSpace(readme)) == 0 {
			t.Errorf("%s: README.md missing or empty: describe the hole, how an attacker uses it and the expected statuses", set)
		}
		e, err := readRedTeamExpect(filepath.Join(dir, "expect.yaml"))
		if err != nil {
			t.Error(err)
			continue
		}
		for _, x := range e.Expect {
			if !bytes.Contains(readme, []byte(x.Node)) {
				t.Errorf("%s: README.md does not mention %s, which expect.yaml expects", set, x.Node)
			}
		}
	}
}

// TestRedTeam runs every set through the whole pipeline (real OPA, real Pod Security
// admission) and compares each expected step. Expectations are what a correct engine says
// (docs/semantics.md), not what threatcov said when the set was written: a failure is a
// false green (blocked where an attacker gets through) or a false red to fix or argue.
func TestRedTeam(t *testing.T) {
	for _, set := range redTeamSets(t) {
		t.Run(set, func(t *testing.T) {
			dir := filepath.Join(redTeamDir, set)
			e, err := readRedTeamExpect(filepath.Join(dir, "expect.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			// A Kyverno set needs the kyverno CLI: without it the pipeline reads Kyverno
			// statically, which cannot see what these sets hide in a pattern.
			if usesKyverno(t, filepath.Join(dir, "policies")) {
				if _, err := policies.KyvernoBinary(); err != nil {
					testenv.Missing(t, "%v", err)
				}
			}
			cfg := pipeline.Config{
				Policies:   []string{filepath.Join(dir, "policies")},
				Namespaces: e.Config.Namespaces,
				Date:       "2026-12-01",
			}
			for _, m := range e.Config.Mappings {
				cfg.Mappings = append(cfg.Mappings, filepath.Join(dir, m))
			}
			res, _, err := pipeline.Run(context.Background(), cfg)
			if err != nil {
				t.Fatalf("%s: pipeline: %v", set, err)
			}
			steps := map[string]analyzer.StepResult{}
			for _, s := range res.Steps {
				steps[s.Node] = s
			}
			for _, x := range e.Expect {
				got, ok := steps[x.Node]
				if !ok {
					t.Errorf("%s: node %s: not a step of the analysis (check the id with `threatcov trees show`)", set, x.Node)
					continue
				}
				if msg := compareStep(x, got); msg != "" {
					t.Errorf("%s: node %s: %s\n  why expected: %s\n  explanation: %s\n  blocking: %v\n  admitted: %v\n  namespaces: %v",
						set, x.Node, msg, oneLine(x.Why), got.Explanation, got.Blocking, got.Admitted, res.Inputs.Namespaces)
				}
			}
		})
	}
}

// compareStep says how got falls short of x, or "" when it meets it.
func compareStep(x stepExpect, got analyzer.StepResult) string {
	var problems []string
	if !slices.Contains(x.Status, got.Status) {
		kind := ""
		switch {
		case got.Status == analyzer.StatusBlocked:
			kind = " (FALSE GREEN: an attacker gets through)"
		case slices.Contains(x.Status, analyzer.StatusBlocked):
			kind = " (false red)"
		}
		problems = append(problems, fmt.Sprintf("status: want %s, got %s%s", x.Status, got.Status, kind))
	}
	for _, probe := range x.Admitted {
		if strings.Contains(probe, "@") { // probe@namespace: admitted in that namespace
			if !slices.Contains(got.Admitted, probe) {
				problems = append(problems, fmt.Sprintf("admitted: want %s admitted, not among them", probe))
			}
			continue
		}
		if !slices.ContainsFunc(got.Admitted, func(k string) bool { return strings.HasPrefix(k, probe+"@") }) {
			problems = append(problems, fmt.Sprintf("admitted: want %s admitted in some namespace, not among them", probe))
		}
	}
	if x.Namespace != "" && !slices.ContainsFunc(got.Admitted, func(k string) bool { return strings.HasSuffix(k, "@"+x.Namespace) }) {
		problems = append(problems, fmt.Sprintf("namespace: want some probe admitted in %s, none is", x.Namespace))
	}
	return strings.Join(problems, "; ")
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// usesKyverno reports whether a policy file under dir declares a Kyverno object.
func usesKyverno(t *testing.T, dir string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		found = found || strings.Contains(string(data), "kyverno.io/")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
