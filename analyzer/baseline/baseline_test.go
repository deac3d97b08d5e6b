package baseline

import (
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/analyzer"
)

// A tiny world: goal g1 = OR(hostpid, AND(priv, exploit)); goal g2 = AND(token, hostpid).
// Results are built by hand, one step status at a time, as the analyzer reports them.

func bi(n int64) *big.Int { return big.NewInt(n) }

func blocked(node, policy string) analyzer.StepResult {
	return analyzer.StepResult{Node: node, Label: "L-" + node, Tree: "t", Leaf: true, Status: analyzer.StatusBlocked, Evidence: analyzer.EvidenceVerified,
		Blocking: []string{policy}, Mapped: []string{policy},
		Verdicts: []analyzer.Verdict{{Probe: node + "-pod", Namespace: "default", Policy: policy, Mode: "enforce", Verdict: "denied"}}}
}

func open(node string) analyzer.StepResult {
	return analyzer.StepResult{Node: node, Label: "L-" + node, Tree: "t", Leaf: true, Status: analyzer.StatusOpen, Mapped: []string{"gk:" + node}}
}

func unmapped(node string) analyzer.StepResult {
	s := open(node)
	s.Mapped = nil
	return s
}

// result builds a result from step statuses: the paths of the tiny world that avoid closed
// steps are listed as open (capped at max per goal when max > 0).
func result(max int, steps ...analyzer.StepResult) *analyzer.Result {
	byNode := map[string]analyzer.StepResult{}
	for _, s := range steps {
		byNode[s.Node] = s
	}
	closed := func(n string) bool { s, ok := byNode[n]; return ok && s.Status.Closes() }
	goal := func(id string, all [][]string) analyzer.GoalResult {
		g := analyzer.GoalResult{ID: id, Tree: "t", Label: "G-" + id, OpenPaths: []analyzer.Path{}, NotShown: bi(0)}
		var openN int64
		for _, p := range all {
			isOpen := true
			for _, s := range p {
				isOpen = isOpen && !closed(s)
			}
			if !isOpen {
				continue
			}
			openN++
			if max > 0 && len(g.OpenPaths) == max {
				g.NotShown.Add(g.NotShown, bi(1))
				continue
			}
			g.OpenPaths = append(g.OpenPaths, analyzer.Path{Fingerprint: strings.Join(p, "+"), Steps: p})
		}
		g.Status = analyzer.StatusBlocked
		if openN > 0 {
			g.Status = analyzer.StatusOpen
		}
		n := int64(len(all))
		g.Figures.Paths = analyzer.PathFigures{Coverage: analyzer.Ratio{Num: bi(n - openN), Den: bi(n)}, Open: bi(openN)}
		return g
	}
	g1 := goal("g1", [][]string{{"hostpid"}, {"exploit", "priv"}, {"other"}})
	g2 := goal("g2", [][]string{{"hostpid", "token"}})
	all := g1.Figures.Paths.Coverage.Den.Int64() + 1
	openAll := g1.Figures.Paths.Open.Int64() + g2.Figures.Paths.Open.Int64()
	goalsBlocked := int64(0)
	for _, g := range []analyzer.GoalResult{g1, g2} {
		if g.Status.Closes() {
			goalsBlocked++
		}
	}
	return &analyzer.Result{
		SchemaVersion: analyzer.SchemaVersion,
		Summary: analyzer.Figures{
			Paths: analyzer.PathFigures{Coverage: analyzer.Ratio{Num: bi(all - openAll), Den: bi(all)}, Open: bi(openAll)},
			Goals: &analyzer.Ratio{Num: bi(goalsBlocked), Den: bi(2)},
		},
		Trees: []analyzer.TreeResult{{ID: "t", Title: "T", Goals: []analyzer.GoalResult{g1, g2}}},
		Steps: steps,
	}
}

func fingerprints(ps []PathChange) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Fingerprint)
	}
	return out
}

func causes(ps []PathChange) []string {
	out := []string{}
	for _, p := range ps {
		for _, c := range p.Why {
			out = append(out, c.Kind+" "+c.Policy)
		}
	}
	return out
}

func TestCompare(t *testing.T) {
	hostpidBlocked := blocked("hostpid", "gk:hostpid")
	toMonitor := open("hostpid")
	toMonitor.Status = analyzer.StatusMonitored
	toMonitor.Monitoring = []string{"gk:hostpid"}
	toMonitor.Verdicts = []analyzer.Verdict{{Probe: "hostpid-pod", Namespace: "default", Policy: "gk:hostpid", Mode: "monitor", Verdict: "denied"}}
	admits := open("hostpid")
	admits.Status = analyzer.StatusBypassed
	admits.Blocking = nil
	admits.Admitted = []string{"hostpid-init@default"}
	admits.Verdicts = []analyzer.Verdict{{Probe: "hostpid-init", Namespace: "default", Policy: "gk:hostpid", Mode: "enforce", Verdict: "admitted"}}

	tests := []struct {
		name         string
		before       *analyzer.Result
		after        *analyzer.Result
		opened       []string
		closed       []string
		why          []string
		openedGoals  []string
		closedGoals  []string
		grown        []string
		partialGoals []string
	}{
		{
			name:   "no change",
			before: result(0, hostpidBlocked, open("priv"), open("exploit"), open("other"), open("token")),
			after:  result(0, hostpidBlocked, open("priv"), open("exploit"), open("other"), open("token")),
		},
		{
			name:        "constraint switched to dryrun opens the paths through its step",
			before:      result(0, hostpidBlocked, open("priv"), open("exploit"), open("other"), open("token")),
			after:       result(0, toMonitor, open("priv"), open("exploit"), open("other"), open("token")),
			opened:      []string{"hostpid", "hostpid+token"},
			why:         []string{"policy-to-monitor gk:hostpid", "status-changed ", "policy-to-monitor gk:hostpid", "status-changed "},
			openedGoals: []string{"g2"},
		},
		{
			name:        "policy removed",
			before:      result(0, hostpidBlocked, open("priv"), open("exploit"), open("other"), open("token")),
			after:       result(0, open("hostpid"), open("priv"), open("exploit"), open("other"), open("token")),
			opened:      []string{"hostpid", "hostpid+token"},
			why:         []string{"policy-removed gk:hostpid", "status-changed ", "policy-removed gk:hostpid", "status-changed "},
			openedGoals: []string{"g2"},
		},
		{
			name:        "policy admits a probe variant",
			before:      result(0, hostpidBlocked, open("priv"), open("exploit"), open("other"), open("token")),
			after:       result(0, admits, open("priv"), open("exploit"), open("other"), open("token")),
			opened:      []string{"hostpid", "hostpid+token"},
			why:         []string{"policy-admits gk:hostpid", "status-changed ", "policy-admits gk:hostpid", "status-changed "},
			openedGoals: []string{"g2"},
		},
		{
			name:   "one path opens while another closes: totals equal, still a regression",
			before: result(0, hostpidBlocked, open("priv"), open("exploit"), open("other"), blocked("token", "gk:token")),
			after:  result(0, open("hostpid"), blocked("priv", "gk:priv"), open("exploit"), open("other"), blocked("token", "gk:token")),
			opened: []string{"hostpid"},
			closed: []string{"exploit+priv"},
			why:    []string{"policy-removed gk:hostpid", "status-changed "},
		},
		{
			name:        "mapping changed",
			before:      result(0, hostpidBlocked, open("priv"), open("exploit"), open("other"), open("token")),
			after:       result(0, unmapped("hostpid"), open("priv"), open("exploit"), open("other"), open("token")),
			opened:      []string{"hostpid", "hostpid+token"},
			why:         []string{"policy-removed gk:hostpid", "mapping-changed gk:hostpid", "status-changed ", "policy-removed gk:hostpid", "mapping-changed gk:hostpid", "status-changed "},
			openedGoals: []string{"g2"},
		},
		{
			name:        "goal closes",
			before:      result(0, open("hostpid"), open("priv"), open("exploit"), open("other"), open("token")),
			after:       result(0, open("hostpid"), open("priv"), open("exploit"), open("other"), blocked("token", "gk:token")),
			closed:      []string{"hostpid+token"},
			closedGoals: []string{"g2"},
		},
		{
			// The capped baseline lists one path of g1; "other" was open but unlisted, so it is
			// not reported as opened; "hostpid" was blocked, so it is.
			name:         "capped baseline",
			before:       result(1, hostpidBlocked, open("priv"), open("exploit"), open("other"), open("token")),
			after:        result(1, open("hostpid"), open("priv"), open("exploit"), open("other"), open("token")),
			opened:       []string{"hostpid", "hostpid+token"},
			why:          []string{"policy-removed gk:hostpid", "status-changed ", "policy-removed gk:hostpid", "status-changed "},
			openedGoals:  []string{"g2"},
			grown:        []string{"g1"},
			partialGoals: []string{"g1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Compare(tc.before, tc.after)
			goalIDs := func(gs []GoalChange) []string {
				out := []string{}
				for _, g := range gs {
					out = append(out, g.ID)
				}
				return out
			}
			grown := []string{}
			for _, g := range d.Grown {
				grown = append(grown, g.Goal)
			}
			got := map[string][]string{
				"opened": fingerprints(d.OpenedPaths), "closed": fingerprints(d.ClosedPaths), "why": causes(d.OpenedPaths),
				"openedGoals": goalIDs(d.OpenedGoals), "closedGoals": goalIDs(d.ClosedGoals), "grown": grown, "partial": d.Partial,
			}
			want := map[string][]string{
				"opened": orEmpty(tc.opened), "closed": orEmpty(tc.closed), "why": orEmpty(tc.why),
				"openedGoals": orEmpty(tc.openedGoals), "closedGoals": orEmpty(tc.closedGoals), "grown": orEmpty(tc.grown), "partial": orEmpty(tc.partialGoals),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func pct(t *testing.T, s string) *big.Rat {
	t.Helper()
	r, err := ParsePercent(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCheck(t *testing.T) {
	base := result(0, blocked("hostpid", "gk:hostpid"), open("priv"), open("exploit"), open("other"), open("token"))
	regressed := result(0, open("hostpid"), open("priv"), open("exploit"), open("other"), open("token"))
	swapped := result(0, open("hostpid"), blocked("priv", "gk:priv"), open("exploit"), open("other"), open("token"))
	allBlocked := result(0, blocked("hostpid", "gk:hostpid"), blocked("priv", "gk:priv"), open("exploit"), blocked("other", "gk:other"), open("token"))
	tests := []struct {
		name  string
		base  *analyzer.Result
		cur   *analyzer.Result
		gate  Gate
		rules []string // rules of the failures, in order
		err   error
	}{
		{name: "unchanged passes", base: base, cur: base, gate: Gate{FailOn: []Rule{FailNewOpenPaths, FailNewOpenGoals}}, rules: []string{}},
		{name: "regression fails per path and per goal", base: base, cur: regressed, gate: Gate{FailOn: []Rule{FailNewOpenPaths, FailNewOpenGoals}},
			rules: []string{"new-open-paths", "new-open-paths", "new-open-goals"}},
		{name: "swap fails", base: base, cur: swapped, gate: Gate{FailOn: []Rule{FailNewOpenPaths}}, rules: []string{"new-open-paths", "new-open-paths"}},
		{name: "any open goal without baseline", cur: base, gate: Gate{FailOn: []Rule{FailAnyOpenGoal}}, rules: []string{"any-open-goal"}},
		{name: "all goals blocked passes any-open-goal", cur: allBlocked, gate: Gate{FailOn: []Rule{FailAnyOpenGoal}}, rules: []string{}},
		// base: 4 paths, 2 open (other, exploit+priv): 2/4 = 50%.
		{name: "path threshold met exactly", cur: base, gate: Gate{MinPathCoverage: pct(t, "50")}, rules: []string{}},
		{name: "path threshold missed by a hair", cur: base, gate: Gate{MinPathCoverage: pct(t, "50.01")}, rules: []string{"min-path-coverage"}},
		{name: "goal threshold", cur: base, gate: Gate{MinGoalCoverage: pct(t, "50")}, rules: []string{}},
		{name: "goal threshold missed", cur: regressed, gate: Gate{MinGoalCoverage: pct(t, "1")}, rules: []string{"min-goal-coverage"}},
		{name: "baseline rule without baseline", cur: base, gate: Gate{FailOn: []Rule{FailNewOpenPaths}}, err: ErrNeedsBaseline},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Check(tc.base, tc.cur, tc.gate)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("got error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rules := []string{}
			for _, f := range o.Failures {
				rules = append(rules, f.Rule)
			}
			if diff := cmp.Diff(tc.rules, rules); diff != "" {
				t.Errorf("failures (-want +got):\n%s\n%+v", diff, o.Failures)
			}
			if o.Passed != (len(tc.rules) == 0) {
				t.Errorf("passed = %v with failures %v", o.Passed, o.Failures)
			}
		})
	}
}

func TestCheckNamesWhy(t *testing.T) {
	base := result(0, blocked("hostpid", "gk:hostpid"), open("priv"), open("exploit"), open("other"), open("token"))
	cur := result(0, open("hostpid"), open("priv"), open("exploit"), open("other"), open("token"))
	o, err := Check(base, cur, Gate{FailOn: []Rule{FailNewOpenPaths}})
	if err != nil {
		t.Fatal(err)
	}
	want := `path opened to "G-g1": L-hostpid (because policy gk:hostpid disappeared: it is no longer deployed)`
	if len(o.Failures) == 0 || o.Failures[0].Message != want {
		t.Fatalf("first failure = %+v, want %q", o.Failures, want)
	}
}

func TestEmptyDenominatorIsANote(t *testing.T) {
	r := &analyzer.Result{SchemaVersion: analyzer.SchemaVersion, Summary: analyzer.Figures{
		Paths: analyzer.PathFigures{Coverage: analyzer.Ratio{Num: bi(0), Den: bi(0)}, Open: bi(0)}}}
	o, err := Check(nil, r, Gate{MinPathCoverage: pct(t, "90"), MinGoalCoverage: pct(t, "90")})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Passed || len(o.Notes) != 2 {
		t.Fatalf("got %+v, want a pass with two notes", o)
	}
}

func TestParsePercent(t *testing.T) {
	for _, s := range []string{"-1", "100.5", "abc", "", "1e400", "1e100000000", "1/2", "0x10", "50.123456789"} {
		if _, err := ParsePercent(s); err == nil {
			t.Errorf("ParsePercent(%q) accepted", s)
		}
	}
	for _, s := range []string{"0", "100", "66.67", "80%", " 12.5 ", "100.0"} {
		if _, err := ParsePercent(s); err != nil {
			t.Errorf("ParsePercent(%q): %v", s, err)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRead(t *testing.T) {
	good := mustJSON(t, result(0, blocked("hostpid", "gk:hostpid"), open("priv")))
	tests := []struct {
		name, input, err string
	}{
		{"valid", good, ""},
		{"unknown fields are ignored", strings.Replace(good, `"schemaVersion"`, `"futureField": [1, {"a": 2}], "schemaVersion"`, 1), ""},
		{"empty", "  \n", "in.json: empty file"},
		{"not an object", "[1, 2]", "in.json:1: not a threatcov report"},
		{"no schema version", `{"trees": []}`, "in.json: not a threatcov report (no schemaVersion field)"},
		{"other schema version", `{"schemaVersion": "threatcov.dev/report/v0"}`, `the file has schema "threatcov.dev/report/v0"`},
		{"syntax error names the line", "{\n\"schemaVersion\": \"threatcov.dev/report/v1\",\n\"trees\": [,]}", "in.json:3: invalid JSON"},
		{"truncated", good[:len(good)/2], "in.json:"},
		{"wrong type names the field", "{\"schemaVersion\": \"threatcov.dev/report/v1\",\n\"trees\": 5}", "in.json:2: field trees"},
		{"huge number", `{"schemaVersion": "threatcov.dev/report/v1", "summary": {"paths": {"open": ` + strings.Repeat("9", 10000) + `}}}`, "number of 10000 characters"},
		{"duplicate goal", `{"schemaVersion": "threatcov.dev/report/v1", "trees": [{"id": "t", "goals": [{"id": "g"}, {"id": "g"}]}]}`, `goal "g" appears twice`},
		{"path without steps", `{"schemaVersion": "threatcov.dev/report/v1", "trees": [{"id": "t", "goals": [{"id": "g", "openPaths": [{"steps": []}]}]}]}`, "open path 1 has no steps"},
		{"deep nesting", `{"schemaVersion": "threatcov.dev/report/v1", "x": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, "in.json"},
		{"binary junk", "\x00\x01\xff{", "in.json:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Read(strings.NewReader(tc.input), "in.json")
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if r.SchemaVersion != analyzer.SchemaVersion {
					t.Fatalf("schema %q", r.SchemaVersion)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("got error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestReadRejectsOversizedFile(t *testing.T) {
	big := `{"schemaVersion": "threatcov.dev/report/v1", "pad": "` + strings.Repeat("x", MaxSize) + `"}`
	if _, err := Read(strings.NewReader(big), "big.json"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("got %v, want a size error", err)
	}
}

func TestReadSchemaVersionError(t *testing.T) {
	_, err := Read(strings.NewReader(`{"schemaVersion": "x"}`), "b.json")
	if !errors.Is(err, ErrSchemaVersion) {
		t.Fatalf("got %v, want ErrSchemaVersion", err)
	}
}
