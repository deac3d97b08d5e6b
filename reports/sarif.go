package reports

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/internal/buildinfo"
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
	Name            string      `json:"name"`
	Version         string      `json:"version,omitempty"`
	SemanticVersion string      `json:"semanticVersion,omitempty"`
	InformationURI  string      `json:"informationUri"`
	Rules           []sarifRule `json:"rules"`
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
	CorrelationGUID     string            `json:"correlationGuid"`
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

// sarifStatus is how one status a step can have is reported: code scanning lists alerts by rule,
// so one rule per status gives five short groups with one fix each, where a rule per goal or
// per step would give dozens of rules of one alert each.
type sarifStatus struct {
	id, name, short, full, help string
	level                       string
	// severity is GitHub's security-severity: 7.0+ high, 4.0+ medium, below low.
	severity string
}

// sarifStatuses are the rules, in the order the results are listed. Blocked and attested steps
// give no result: code scanning does not document result.kind (SARIF's "pass"), so a result
// would show as an alert.
var sarifStatuses = []sarifStatus{
	{id: "threatcov/step-bypassed", name: "BypassedStep", level: "error", severity: "8.0",
		short: "Attack step gets past a deployed policy",
		full:  "A deployed, enforcing policy addresses this attack step, yet some of its probe requests (attack variants: another workload kind, namespace or field) were admitted. The team believes the step is covered; it is not.",
		help:  "Change the policy (or its match, exclusions or namespace labels) so that it denies the admitted variants the message names, or deploy one that does. The related locations are the deployed policies."},
	{id: "threatcov/step-open", name: "OpenStep", level: "error", severity: "7.0",
		short: "Attack step no deployed control addresses",
		full:  "No deployed policy blocks or flags this attack step: the mapped policies are not deployed, or the mapping names none.",
		help:  "Deploy a policy that blocks the step: one the mapping names for it (the recommendations rank them by the open paths they close), or one you run, mapped to the step in a mapping file (docs/mapping.md)."},
	{id: "threatcov/step-monitored", name: "MonitoredStep", level: "warning", severity: "5.0",
		short: "Attack step flagged, not blocked",
		full:  "Every probe request of this attack step is flagged by a policy in dry-run, warn or audit mode, which does not stop it.",
		help:  "Switch the monitoring policy the message names to enforce (deny) once its audit results are clean."},
	{id: "threatcov/step-awaiting-attestation", name: "StepAwaitingAttestation", level: "warning", severity: "4.0",
		short: "Attack step awaits an attested control",
		full:  "No admission policy can address this attack step; a control outside admission can (a NetworkPolicy, node hardening, registry signing), and none is attested, or its attestation expired.",
		help:  "Write an attestation in a mapping file (--mapping) naming the control, its evidence and an expiry date (docs/mapping.md), once the control is in place."},
	{id: "threatcov/step-out-of-scope", name: "OutOfScopeStep", level: "note", severity: "2.0",
		short: "Attack step outside what admission can stop",
		full:  "This attack step is outside what Kubernetes admission can address (a vulnerability in a component, a network flood, the software supply chain). Its open paths are residual risk for other controls.",
		help:  "Nothing to change in the policies. Treat the open paths through it as residual risk, covered by other controls (patching, network defences, supply-chain checks)."},
}

// sarifStatusOf is the rule index a step is reported under, or -1 for a step that closes
// paths. A status this version does not know is reported as open, never dropped.
func sarifStatusOf(s *analyzer.StepResult) int {
	switch {
	case s.Status.Closes():
		return -1
	case s.Status == analyzer.StatusBypassed:
		return 0
	case s.Status == analyzer.StatusMonitored:
		return 2
	case s.Status == analyzer.StatusOpen && s.OpenKind == analyzer.OpenAttestation:
		return 3
	case s.Status == analyzer.StatusOutOfScope:
		return 4
	}
	return 1
}

// SARIFFingerprintKey is the partialFingerprints key of every result; its value is a hash of
// the step's label, its status and the result's rule id (sarifFingerprint), so an alert follows
// a step across runs and closes when the step's status changes.
const SARIFFingerprintKey = "threatcovStep/v1"

// sarifFingerprint hashes what identifies a result: the step (its label, which is how mappings
// select it in every tree it appears in), its status and its rule.
func sarifFingerprint(label string, status analyzer.Status, ruleID string) string {
	return fingerprintHash(label + "\x00" + string(status) + "\x00" + ruleID)
}

// toolVersion is the threatcov version SARIF names as its tool's (tests fix it).
var toolVersion = func() (version, semantic string) { return buildinfo.Version(), buildinfo.Semantic() }

// sarifStep is one result: the nodes with one label, one status and one rule. The catalog draws one
// attacker action in several trees as separate nodes (with the same label, which is how the
// mapping selects them), and one fix covers them all.
type sarifStep struct {
	rule  int
	label string
	steps []*analyzer.StepResult // sorted by node id
	open  *big.Int               // open paths through its nodes, summed
}

func (v *view) sarifSteps() []*sarifStep {
	byKey := map[string]*sarifStep{}
	var out []*sarifStep
	for i := range v.r.Steps {
		s := &v.r.Steps[i]
		rule := sarifStatusOf(s)
		if rule < 0 {
			continue
		}
		key := fmt.Sprintf("%d\x00%s\x00%s", rule, s.Status, s.Label)
		g, ok := byKey[key]
		if !ok {
			g = &sarifStep{rule: rule, label: s.Label, open: new(big.Int)}
			byKey[key] = g
			out = append(out, g)
		}
		g.steps = append(g.steps, s)
		if s.OpenPaths != nil {
			g.open.Add(g.open, s.OpenPaths)
		}
	}
	for _, g := range out {
		sort.Slice(g.steps, func(i, j int) bool { return g.steps[i].Node < g.steps[j].Node })
	}
	// By rule, then the most open paths first, then by label: the list reads as a to-do list.
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.rule != b.rule {
			return a.rule < b.rule
		}
		if c := a.open.Cmp(b.open); c != 0 {
			return c > 0
		}
		return a.label < b.label
	})
	return out
}

func writeSARIF(w io.Writer, v *view) error {
	version, semantic := toolVersion()
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:            "threatcov",
			Version:         version,
			SemanticVersion: semantic,
			InformationURI:  "https://github.com/threatcov/threatcov",
			Rules:           []sarifRule{},
		}},
		Results: []sarifResult{},
		Properties: map[string]any{
			"schemaVersion": v.r.SchemaVersion,
			"summary":       v.r.Summary,
		},
	}
	for _, st := range sarifStatuses {
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID:                   st.id,
			Name:                 st.name,
			ShortDescription:     sarifText{Text: st.short},
			FullDescription:      sarifText{Text: st.full},
			Help:                 sarifHelp{Text: st.help, Markdown: st.help},
			DefaultConfiguration: sarifConfig{Level: st.level},
			Properties: map[string]any{
				"security-severity": st.severity,
				"tags":              []string{"security", "attack-path"},
				"precision":         "high",
			},
		})
	}
	sources := map[string]analyzer.Location{}
	for _, p := range v.r.PolicySources {
		sources[p.Policy] = p.Source
	}
	ruleSteps := make([][]*analyzer.StepResult, len(sarifStatuses))
	for _, g := range v.sarifSteps() {
		st := sarifStatuses[g.rule]
		hash := sarifFingerprint(g.label, g.steps[0].Status, st.id)
		var trees, nodes []string
		for _, s := range g.steps {
			nodes = append(nodes, s.Node)
			if !slices.Contains(trees, s.Tree) {
				trees = append(trees, s.Tree)
			}
		}
		sort.Strings(trees)
		props := map[string]any{
			"status":    string(g.steps[0].Status),
			"openPaths": g.open,
			"trees":     trees,
			"nodes":     nodes,
		}
		if k := g.steps[0].OpenKind; k != "" {
			props["openKind"] = string(k)
		}
		addSARIFTechniques(props, g.steps)
		ruleSteps[g.rule] = append(ruleSteps[g.rule], g.steps...)
		run.Results = append(run.Results, sarifResult{
			RuleID:              st.id,
			RuleIndex:           g.rule,
			CorrelationGUID:     guidOf(hash),
			Level:               st.level,
			Message:             sarifText{Text: v.sarifMessage(g, trees)},
			Locations:           []sarifLocation{v.sarifPrimary(g)},
			RelatedLocations:    v.sarifRelated(g, sources),
			PartialFingerprints: map[string]string{SARIFFingerprintKey: hash},
			Properties:          props,
		})
	}
	for i := range run.Tool.Driver.Rules {
		addSARIFTechniques(run.Tool.Driver.Rules[i].Properties, ruleSteps[i])
	}
	return WriteJSON(w, sarifLog{
		Schema:  "https://json.schemastore.org/sarif-2.1.0.json",
		Version: "2.1.0",
		Runs:    []sarifRun{run},
	})
}

// sarifMessage says which step, where it appears, how many open paths go through it, why it has
// its status (the analyzer's explanation, naming the policies and probes) and what to do.
func (v *view) sarifMessage(g *sarifStep, trees []string) string {
	var b strings.Builder
	s0 := g.steps[0]
	fmt.Fprintf(&b, "%s: %q", sarifStatuses[g.rule].short, oneLine(g.label))
	if s0.Ref != "" {
		fmt.Fprintf(&b, " [%s]", oneLine(s0.Ref))
	}
	titles := make([]string, len(trees))
	for i, id := range trees {
		titles[i] = id
		for _, t := range v.r.Trees {
			if t.ID == id && t.Title != "" {
				titles[i] = fmt.Sprintf("%q", oneLine(t.Title))
			}
		}
	}
	noun := "tree"
	if len(trees) > 1 {
		noun = "trees"
	}
	fmt.Fprintf(&b, ", in %s %s; %s.", noun, strings.Join(titles, ", "), openThrough(g.open))
	var seen []string
	for _, s := range g.steps {
		if e := oneLine(s.Explanation); e != "" && !slices.Contains(seen, e) {
			seen = append(seen, e)
			fmt.Fprintf(&b, " Why: %s.", strings.TrimSuffix(e, "."))
		}
	}
	if fix := v.sarifFix(g); fix != "" {
		b.WriteString(" Fix: " + fix)
	}
	return b.String()
}

// openThrough says how many open paths go through a step.
func openThrough(n *big.Int) string {
	switch {
	case n.Sign() == 0:
		return "no open attack path goes through it (other steps block them all)"
	case n.IsInt64() && n.Int64() == 1:
		return "1 open attack path goes through it"
	}
	return n.String() + " open attack paths go through it"
}

// sarifFix is the recommendations that block one of the step's nodes, else the rule's advice.
func (v *view) sarifFix(g *sarifStep) string {
	var recs []string
	for _, rec := range v.r.Recommendations {
		if !slices.ContainsFunc(rec.Steps, func(id string) bool {
			return slices.ContainsFunc(g.steps, func(s *analyzer.StepResult) bool { return s.Node == id })
		}) {
			continue
		}
		text := oneLine(rec.Change)
		if len(rec.Alternatives) > 0 {
			text += " (or " + oneLine(strings.Join(rec.Alternatives, "; or ")) + ")"
		}
		recs = append(recs, fmt.Sprintf("%s (recommendation %d: closes %s open paths)", text, rec.Rank, analyzer.CountText(rec.Closes)))
	}
	if len(recs) > 0 {
		return strings.Join(recs, "; ") + "."
	}
	return sarifStatuses[g.rule].help
}

// sarifPrimary is where the step is mapped (the mapping entry's line; mapping/default.yaml for
// the embedded mapping), else where its first node is written in its tree file.
func (v *view) sarifPrimary(g *sarifStep) sarifLocation {
	for _, s := range g.steps {
		if s.MappedAt != nil && s.MappedAt.File != "" {
			return physicalLocation(*s.MappedAt, "mapping entry of "+oneLine(g.label), nil)
		}
	}
	return v.sarifLocation(g.steps[0].Node, "node "+g.steps[0].Node, nil)
}

// sarifRelated are the step's nodes in their tree files, the other mapping entries that map
// it, and every deployed policy its verdicts involve, at the policy's file and line.
func (v *view) sarifRelated(g *sarifStep, sources map[string]analyzer.Location) []sarifLocation {
	var out []sarifLocation
	next := func() *int { id := len(out) + 1; return &id }
	primary := v.sarifPrimary(g)
	for _, s := range g.steps {
		text := fmt.Sprintf("node %s in tree %s: %s, %s open paths", s.Node, s.Tree, statusText(s.Status, s.Evidence), analyzer.CountText(s.OpenPaths))
		if loc := v.sarifLocation(s.Node, text, nil); !sameLocation(loc, primary) {
			loc.ID = next()
			out = append(out, loc)
		}
	}
	var entries []analyzer.Location
	for _, s := range g.steps {
		if s.MappedAt != nil && !slices.Contains(entries, *s.MappedAt) {
			entries = append(entries, *s.MappedAt)
		}
	}
	for _, e := range entries {
		loc := physicalLocation(e, "mapping entry of "+oneLine(g.label), nil)
		if !sameLocation(loc, primary) {
			loc.ID = next()
			out = append(out, loc)
		}
	}
	// Policies written in one object (PSA's enforce and warn levels are labels of one
	// Namespace) share one related location.
	var at []analyzer.Location
	texts := map[analyzer.Location][]string{}
	for _, p := range involvedPolicies(g.steps) {
		src, ok := sources[p.id]
		if !ok || isClusterSource(src.File) {
			continue
		}
		if _, seen := texts[src]; !seen {
			at = append(at, src)
		}
		texts[src] = append(texts[src], "policy "+oneLine(p.id)+": "+p.role)
	}
	for _, src := range at {
		out = append(out, physicalLocation(src, strings.Join(texts[src], "; "), next()))
	}
	return out
}

func sameLocation(a, b sarifLocation) bool {
	if a.PhysicalLocation == nil || b.PhysicalLocation == nil {
		return false
	}
	pa, pb := a.PhysicalLocation, b.PhysicalLocation
	return pa.ArtifactLocation == pb.ArtifactLocation && (pa.Region == nil) == (pb.Region == nil) && (pa.Region == nil || *pa.Region == *pb.Region)
}

// involvedPolicy is a deployed policy a step's verdicts involve and what it did.
type involvedPolicy struct{ id, role string }

// involvedPolicies are the deployed policies that act on the steps' probes, sorted by id, each
// with its first role in the order below.
func involvedPolicies(steps []*analyzer.StepResult) []involvedPolicy {
	roles := map[string]string{}
	add := func(ids []string, role string) {
		for _, id := range ids {
			if _, ok := roles[id]; !ok {
				roles[id] = role
			}
		}
	}
	for _, s := range steps {
		add(s.OverBroad, "denies the benign twin too, so its denials prove nothing")
		if s.Status == analyzer.StatusBypassed {
			add(s.Blocking, "deployed and enforcing; denies some of the step's probe requests, not all")
		} else {
			add(s.Blocking, "denies the step's probe requests")
		}
		add(s.Monitoring, "flags the step's probe requests without enforcing")
		add(s.MappedNotBlocking, "mapped to the step and deployed; does not deny every probe request")
		add(s.Discovered, "denies the step's probe requests; not in the mapping")
	}
	out := make([]involvedPolicy, 0, len(roles))
	for id, role := range roles {
		out = append(out, involvedPolicy{id, role})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// isClusterSource reports whether a policy was read from a cluster (cluster.source names it
// "cluster:CONTEXT/..."): it has no file to point at.
func isClusterSource(file string) bool { return strings.HasPrefix(file, "cluster:") }

func physicalLocation(l analyzer.Location, msg string, id *int) sarifLocation {
	phys := &sarifPhysical{ArtifactLocation: sarifArtifact{URI: fileURI(l.File)}}
	if l.Line > 0 {
		phys.Region = &sarifRegion{StartLine: l.Line}
	}
	return sarifLocation{ID: id, PhysicalLocation: phys, Message: &sarifText{Text: msg}}
}

func fingerprintHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// guidOf formats a 128-bit hash as an RFC 4122 name-based UUID (version 5 bits, variant 10):
// a result's correlationGuid, which SARIF shares between the results of different runs that
// are the same finding.
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
