package reports

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/threatcov/threatcov/analyzer"
)

// SARIF 2.1.0 (OASIS). Only the objects threatcov fills are modelled; field order is fixed, so
// the output is stable. The schema test validates against the vendored OASIS schema.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool       sarifTool      `json:"tool"`
	Results    []sarifResult  `json:"results"`
	Properties map[string]any `json:"properties,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	Help                 sarifHelp      `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	GUID                string            `json:"guid"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	RelatedLocations    []sarifLocation   `json:"relatedLocations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties"`
}

type sarifLocation struct {
	ID               *int           `json:"id,omitempty"`
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	Message          *sarifText     `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifLogical struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// SARIFRuleID is the stable rule id of an open goal: one rule per goal, so code-scanning
// alerts group by the goal an attacker reaches.
func SARIFRuleID(goalID string) string { return "threatcov/open-goal/" + goalID }

// SARIFFingerprintKey is the partialFingerprints key of every result; its value is a hash of
// the goal id and the path fingerprint (sorted step ids), stable across runs and machines.
const SARIFFingerprintKey = "threatcovPath/v1"

// severity scores an open goal by its shortest open path: the fewer steps an attacker needs,
// the worse (GitHub reads security-severity as a CVSS-like score: 9.0+ critical, 7.0+ high).
func severity(shortest int) string {
	switch {
	case shortest == 1:
		return "9.0"
	case shortest == 2:
		return "8.0"
	case shortest == 3:
		return "7.0"
	case shortest > 3:
		return "6.0"
	}
	return "7.0" // open, but no path listed (--max-paths 0): high by default
}

func writeSARIF(w io.Writer, v *view) error {
	type goalRef struct {
		tree analyzer.TreeResult
		goal analyzer.GoalResult
	}
	var open []goalRef
	for _, t := range v.r.Trees {
		for _, g := range t.Goals {
			if !g.Status.Closes() {
				open = append(open, goalRef{t, g})
			}
		}
	}
	sort.Slice(open, func(i, j int) bool { return SARIFRuleID(open[i].goal.ID) < SARIFRuleID(open[j].goal.ID) })

	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "threatcov",
			InformationURI: "https://github.com/threatcov/threatcov",
			Rules:          []sarifRule{},
		}},
		Results: []sarifResult{},
		Properties: map[string]any{
			"schemaVersion": v.r.SchemaVersion,
			"summary":       v.r.Summary,
		},
	}
	for ri, o := range open {
		g := o.goal
		shortest := 0
		if len(g.OpenPaths) > 0 {
			shortest = len(g.OpenPaths[0].Steps)
			for _, p := range g.OpenPaths {
				shortest = min(shortest, len(p.Steps))
			}
		}
		rule := sarifRule{
			ID:               SARIFRuleID(g.ID),
			Name:             "OpenAttackGoal",
			ShortDescription: sarifText{Text: "Attack goal reachable: " + oneLine(g.Label)},
			FullDescription: sarifText{Text: fmt.Sprintf("%s (tree %q): %s open attack paths reach this goal; path coverage %s. An open path is a minimal set of attack steps none of which a deployed, enforcing policy blocks.",
				oneLine(g.Label), oneLine(o.tree.Title), analyzer.CountText(g.Figures.Paths.Open), g.Figures.Paths.Coverage.Text("paths"))},
			Help:                 sarifHelp{Text: sarifHelpText(v, g), Markdown: sarifHelpMarkdown(v, g)},
			DefaultConfiguration: sarifConfig{Level: "error"},
			Properties: map[string]any{
				"security-severity": severity(shortest),
				"tags":              []string{"security", "attack-path", o.tree.ID},
				"precision":         "high",
			},
		}
		v.addSARIFTechniques(rule.Properties, g.OpenPaths)
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, rule)

		loc := v.sarifLocation(g.ID, "goal "+g.ID, nil)
		paths := append([]analyzer.Path(nil), g.OpenPaths...)
		sort.SliceStable(paths, func(i, j int) bool {
			if len(paths[i].Steps) != len(paths[j].Steps) {
				return len(paths[i].Steps) < len(paths[j].Steps)
			}
			return paths[i].Key() < paths[j].Key()
		})
		for _, p := range paths {
			key := p.Key()
			hash := fingerprintHash(g.ID + "\x00" + key)
			var related []sarifLocation
			for i, s := range p.Steps {
				id := i + 1
				related = append(related, v.sarifLocation(s, v.stepSummary(s), &id))
			}
			run.Results = append(run.Results, sarifResult{
				RuleID:    rule.ID,
				RuleIndex: ri,
				GUID:      guidOf(hash),
				Level:     "error",
				Message: sarifText{Text: fmt.Sprintf("Open attack path to %q in %d step(s): %s.",
					oneLine(g.Label), len(p.Steps), oneLine(v.pathLabels(p)))},
				Locations:           []sarifLocation{loc},
				RelatedLocations:    related,
				PartialFingerprints: map[string]string{SARIFFingerprintKey: hash},
				Properties: map[string]any{
					"goal":        g.ID,
					"tree":        g.Tree,
					"steps":       p.Steps,
					"fingerprint": key,
				},
			})
		}
		if g.NotShown != nil && g.NotShown.Sign() > 0 {
			hash := fingerprintHash(g.ID + "\x00" + "(not shown)")
			run.Results = append(run.Results, sarifResult{
				RuleID:    rule.ID,
				RuleIndex: ri,
				GUID:      guidOf(hash),
				Level:     "error",
				Message: sarifText{Text: fmt.Sprintf("%s more open attack paths to %q are not listed (raise --max-paths to list them).",
					g.NotShown, oneLine(g.Label))},
				Locations:           []sarifLocation{loc},
				PartialFingerprints: map[string]string{SARIFFingerprintKey: hash},
				Properties:          map[string]any{"goal": g.ID, "tree": g.Tree, "notShown": g.NotShown},
			})
		}
	}
	return WriteJSON(w, sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

func fingerprintHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// guidOf formats a 128-bit hash as an RFC 4122 name-based UUID (version 5 bits, variant 10):
// SARIF wants a GUID per result and a stable one lets tools match results across runs.
func guidOf(hash string) string {
	b, _ := hex.DecodeString(hash)
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// sarifLocation points at the line of the tree file where the node is written (the embedded
// catalog's files are named attacktrees/catalog/<tree>.yaml) and names the node logically.
func (v *view) sarifLocation(id, msg string, locID *int) sarifLocation {
	loc := sarifLocation{ID: locID, Message: &sarifText{Text: msg}}
	tree := ""
	if file, line := v.location(id); file != "" {
		phys := &sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(file)}}
		if line > 0 {
			phys.Region = &sarifRegion{StartLine: line}
		}
		loc.PhysicalLocation = phys
	}
	if v.c != nil {
		if n, ok := v.c.Node(id); ok {
			tree = n.Tree
		}
	}
	fq := id
	if tree != "" {
		fq = tree + "/" + id
	}
	loc.LogicalLocations = []sarifLogical{{Name: id, FullyQualifiedName: fq, Kind: "object"}}
	return loc
}

// fileURI makes a tree file name a URI reference: relative paths stay relative (code scanning
// resolves them against the repository), absolute ones become file URIs.
func fileURI(file string) string {
	p := filepath.ToSlash(file)
	if filepath.IsAbs(file) {
		return (&url.URL{Scheme: "file", Path: p}).String()
	}
	return (&url.URL{Path: p}).String()
}

// stepSummary is one line on a step of a path: its label, status and the policies involved.
func (v *view) stepSummary(id string) string {
	s, ok := v.steps[id]
	if !ok {
		return oneLine(v.label(id))
	}
	text := fmt.Sprintf("%s: %s", oneLine(v.label(id)), statusText(s.Status, s.Evidence))
	if len(s.Monitoring) > 0 {
		text += "; monitored by " + oneLine(strings.Join(s.Monitoring, ", "))
	}
	if len(s.Admitted) > 0 {
		text += "; admitted: " + oneLine(strings.Join(s.Admitted, ", "))
	}
	if len(s.Missing) > 0 {
		text += "; mapped but not deployed: " + oneLine(strings.Join(s.Missing, ", "))
	}
	if len(s.Mapped) == 0 && s.Status != analyzer.StatusOutOfScope {
		text += "; no policy mapped"
	}
	return text
}

func sarifHelpText(v *view, g analyzer.GoalResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Block at least one step of every open path to %q. ", oneLine(g.Label))
	recs := v.recommendationsFor(g)
	if len(recs) == 0 {
		b.WriteString("No mapped policy would close a listed path: map policies to its steps or attest a control.")
		return b.String()
	}
	b.WriteString("Recommended: ")
	for i, rec := range recs {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s", oneLine(rec.Action), oneLine(rec.Policy))
	}
	b.WriteString(".")
	return b.String()
}

func sarifHelpMarkdown(v *view, g analyzer.GoalResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Block at least one step of every open path to **%s**.\n\n", mdCell(g.Label))
	recs := v.recommendationsFor(g)
	if len(recs) == 0 {
		b.WriteString("No mapped policy would close a listed path: map policies to its steps or attest a control.\n")
		return b.String()
	}
	b.WriteString("| Action | Policy | Closes paths (all goals) |\n|---|---|---|\n")
	for _, rec := range recs {
		fmt.Fprintf(&b, "| %s | `%s` | %s |\n", mdCell(rec.Action), mdCode(rec.Policy), analyzer.CountText(rec.Closes))
	}
	return b.String()
}

// recommendationsFor lists the recommendations that block a step of one of the goal's listed
// open paths, in rank order.
func (v *view) recommendationsFor(g analyzer.GoalResult) []analyzer.Recommendation {
	onPath := map[string]bool{}
	for _, p := range g.OpenPaths {
		for _, s := range p.Steps {
			onPath[s] = true
		}
	}
	var out []analyzer.Recommendation
	for _, rec := range v.r.Recommendations {
		for _, s := range rec.Steps {
			if onPath[s] {
				out = append(out, rec)
				break
			}
		}
	}
	return out
}
