package reports

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/frameworks"
)

// Coverage classes of a technique, for the matrix cells (docs/frameworks.md, "Scores").
const (
	CoverageFull       = "covered"      // every addressable step proven closed
	CoveragePartial    = "partial"      // some, not all
	CoverageNone       = "uncovered"    // none
	CoverageOutOfScope = "out-of-scope" // every step is out of scope for admission
	CoverageUnmapped   = "unmapped"     // no step instantiates the technique
)

// coverageClass is the class of a technique's coverage; nil means no step instantiates it.
func coverageClass(tc *analyzer.TechniqueCoverage) string {
	switch {
	case tc == nil:
		return CoverageUnmapped
	case !tc.Coverage.Defined():
		return CoverageOutOfScope
	case tc.Coverage.Num.Cmp(tc.Coverage.Den) == 0:
		return CoverageFull
	case tc.Coverage.Num.Sign() > 0:
		return CoveragePartial
	}
	return CoverageNone
}

// Matrix is a framework's tactics × techniques grid with each technique coloured by the proven
// coverage of its steps: the HTML report and serve draw it.
type Matrix struct {
	Framework, Name, Version, Source, License string
	Columns                                   []MatrixColumn
	// Counts are the techniques of each coverage class (a technique counted once, not per tactic).
	Counts map[string]int
}

// MatrixColumn is one tactic and its techniques, in id order.
type MatrixColumn struct {
	Tactic string
	Cells  []MatrixCell
}

// MatrixCell is one technique under one tactic.
type MatrixCell struct {
	ID, Name, URL string
	Class         string   // a Coverage* constant
	Figure        string   // "2/3 steps", "out of scope", or "" (unmapped)
	Steps         []string // "label (status)" of each step, sorted by node id
}

// FrameworkMatrix builds the matrix of a framework from a result. Every technique of the
// framework appears under each of its tactics, unmapped ones too, so the grid reads like the
// published matrix.
func FrameworkMatrix(r *analyzer.Result, fw *frameworks.Framework) Matrix {
	v := newView(r, nil)
	cov := map[string]*analyzer.TechniqueCoverage{}
	techniques := analyzer.Techniques(r, fw)
	for i := range techniques {
		cov[techniques[i].ID] = &techniques[i]
	}
	m := Matrix{Framework: fw.ID, Name: fw.Name, Version: fw.Version, Source: fw.Source, License: fw.License, Counts: map[string]int{}}
	col := map[string]int{}
	for _, t := range fw.Tactics() {
		col[t.Key] = len(m.Columns)
		m.Columns = append(m.Columns, MatrixColumn{Tactic: t.Name})
	}
	for _, t := range fw.Techniques() {
		tc := cov[t.ID]
		cell := MatrixCell{ID: t.ID, Name: t.Name, URL: fw.URL(t.ID), Class: coverageClass(tc)}
		m.Counts[cell.Class]++
		if tc != nil {
			cell.Figure = "out of scope"
			if tc.Coverage.Defined() {
				cell.Figure = fmt.Sprintf("%s/%s steps", tc.Coverage.Num, tc.Coverage.Den)
			}
			for _, s := range tc.Steps {
				st := v.steps[s]
				cell.Steps = append(cell.Steps, fmt.Sprintf("%s (%s)", oneLine(v.label(s)), statusText(st.Status, st.Evidence)))
			}
		}
		for _, tac := range t.Tactics {
			c := &m.Columns[col[tac]]
			c.Cells = append(c.Cells, cell)
		}
	}
	return m
}

// Rows is the grid row by row (a tactic's column is as long as its techniques), for a table
// whose columns are the tactics.
func (m Matrix) Rows() [][]*MatrixCell {
	n := 0
	for _, c := range m.Columns {
		n = max(n, len(c.Cells))
	}
	rows := make([][]*MatrixCell, n)
	for i := range rows {
		rows[i] = make([]*MatrixCell, len(m.Columns))
		for j := range m.Columns {
			if i < len(m.Columns[j].Cells) {
				rows[i][j] = &m.Columns[j].Cells[i]
			}
		}
	}
	return rows
}

// WriteFrameworks writes `threatcov frameworks list`: each technique that a step instantiates
// (every technique with all) with its proven coverage, steps and trees, for the frameworks
// named by ids. format is "table" or "json".
func WriteFrameworks(w io.Writer, format string, r *analyzer.Result, ids []string, all bool) error {
	type fwOut struct {
		ID         string                       `json:"id"`
		Name       string                       `json:"name"`
		Version    string                       `json:"version"`
		Source     string                       `json:"source"`
		License    string                       `json:"license"`
		Techniques []analyzer.TechniqueCoverage `json:"techniques"`
	}
	var out struct {
		Frameworks []fwOut `json:"frameworks"`
	}
	for _, id := range ids {
		fw := frameworks.Get(id)
		if fw == nil {
			return fmt.Errorf("unknown framework %q: use one of %s", id, strings.Join(frameworks.IDs, ", "))
		}
		ts := analyzer.Techniques(r, fw)
		if all {
			ts = withUnmapped(ts, fw)
		}
		out.Frameworks = append(out.Frameworks, fwOut{fw.ID, fw.Name, fw.Version, fw.Source, fw.License, ts})
	}
	if format == "json" {
		return WriteJSON(w, out)
	}
	v := newView(r, nil)
	ew := &errWriter{w: w}
	for i, f := range out.Frameworks {
		if i > 0 {
			ew.printf("\n")
		}
		ew.printf("%s v%s\nsource: %s\n%s\n", f.Name, f.Version, f.Source, f.License)
		for _, tc := range f.Techniques {
			ew.printf("\n%s %s [%s]: %s\n", tc.ID, tc.Name, strings.Join(tc.Tactics, ", "), techniqueFigure(&tc))
			tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			for _, s := range tc.Steps {
				st := v.steps[s]
				fmt.Fprintf(tw, "  %s\t%s\t%s\n", statusText(st.Status, st.Evidence), s, st.Tree)
			}
			tw.Flush()
		}
	}
	return ew.err
}

// techniqueFigure is a technique's coverage as the CLI prints it.
func techniqueFigure(tc *analyzer.TechniqueCoverage) string {
	if len(tc.Steps) == 0 {
		return "no step"
	}
	text := "proven coverage " + tc.Coverage.Text("addressable steps")
	if len(tc.Trees) > 0 {
		text += fmt.Sprintf(", %d step(s) in %d tree(s)", len(tc.Steps), len(tc.Trees))
	}
	return text
}

// withUnmapped adds the framework's techniques no step instantiates, in id order.
func withUnmapped(ts []analyzer.TechniqueCoverage, fw *frameworks.Framework) []analyzer.TechniqueCoverage {
	out := slices.Clone(ts)
	for _, t := range fw.Techniques() {
		if !slices.ContainsFunc(ts, func(tc analyzer.TechniqueCoverage) bool { return tc.ID == t.ID }) {
			out = append(out, analyzer.TechniqueCoverage{Framework: fw.ID, ID: t.ID, Name: t.Name, Tactics: t.Tactics})
		}
	}
	slices.SortFunc(out, func(a, b analyzer.TechniqueCoverage) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// pathTechniques are the ATT&CK and Threat Matrix ids of the steps on the given paths, sorted:
// the techniques an attacker uses to reach a goal by its open paths.
func (v *view) pathTechniques(paths []analyzer.Path) (attack, threatMatrix []string) {
	for _, p := range paths {
		for _, e := range p.Steps {
			node, _ := analyzer.ElementNode(e)
			if s, ok := v.steps[node]; ok {
				attack = append(attack, s.Attack...)
				threatMatrix = append(threatMatrix, s.ThreatMatrix...)
			}
		}
	}
	slices.Sort(attack)
	slices.Sort(threatMatrix)
	return slices.Compact(attack), slices.Compact(threatMatrix)
}

// addSARIFTechniques adds to a SARIF rule's properties the techniques of the steps on its open
// paths: their ids under "attack" and "threatMatrix", and a tag for each.
func (v *view) addSARIFTechniques(props map[string]any, paths []analyzer.Path) {
	attack, threatMatrix := v.pathTechniques(paths)
	if len(attack) > 0 {
		props["attack"] = attack
	}
	if len(threatMatrix) > 0 {
		props["threatMatrix"] = threatMatrix
	}
	tags, _ := props["tags"].([]string)
	props["tags"] = append(tags, SARIFFrameworkTags(attack, threatMatrix)...)
}

// SARIFFrameworkTags are the rule tags that name framework techniques:
// "external/mitre-attack/T1611", "external/k8s-threat-matrix/MS-TA9013" (the external/<scheme>/<id>
// form code scanning uses for CWE), so alerts can be filtered by technique.
func SARIFFrameworkTags(attack, threatMatrix []string) []string {
	var tags []string
	for _, id := range attack {
		tags = append(tags, "external/mitre-attack/"+id)
	}
	for _, id := range threatMatrix {
		tags = append(tags, "external/k8s-threat-matrix/"+id)
	}
	return tags
}

// techniquesLine names a step's techniques with their names, for explain: "ATT&CK T1611 Escape
// to Host; Threat Matrix MS-TA9013 Writable hostPath mount", or "" when it names none.
func techniquesLine(s *analyzer.StepResult) string {
	var parts []string
	for _, fw := range frameworks.All() {
		var named []string
		for _, id := range analyzer.StepTechniques(s, fw.ID) {
			if t, ok := fw.Technique(id); ok {
				id += " " + t.Name
			}
			named = append(named, id)
		}
		if len(named) > 0 {
			parts = append(parts, fw.Name+" "+strings.Join(named, ", "))
		}
	}
	return strings.Join(parts, "; ")
}
