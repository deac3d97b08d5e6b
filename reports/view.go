package reports

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
)

// view indexes one result (and the catalog it was computed on) for the renderers. The catalog
// may be nil: labels then come from the result alone and locations are omitted.
type view struct {
	r     *analyzer.Result
	c     *attacktrees.Catalog
	steps map[string]*analyzer.StepResult
	nodes map[string]*analyzer.NodeResult
}

func newView(r *analyzer.Result, c *attacktrees.Catalog) *view {
	v := &view{r: r, c: c, steps: map[string]*analyzer.StepResult{}, nodes: map[string]*analyzer.NodeResult{}}
	if r == nil {
		return v
	}
	for i := range r.Steps {
		v.steps[r.Steps[i].Node] = &r.Steps[i]
	}
	for i := range r.Nodes {
		v.nodes[r.Nodes[i].ID] = &r.Nodes[i]
	}
	return v
}

// label is a node's label as the report shows it: from the result, else the catalog, else its
// id. A path element "node#action" (the own action of a mapped inner node) is labelled as such.
func (v *view) label(id string) string {
	if base, ok := analyzer.ElementNode(id); ok {
		return analyzer.ElementLabel(v.label(base), true)
	}
	if s, ok := v.steps[id]; ok && s.Label != "" {
		return s.Label
	}
	if v.c != nil {
		if n, ok := v.c.Node(id); ok && n.Label != "" {
			return n.Label
		}
	}
	return id
}

// pathLabels is a path's steps as labels joined by " + ", in the path's order.
func (v *view) pathLabels(p analyzer.Path) string {
	labels := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		labels[i] = v.label(s)
	}
	return strings.Join(labels, " + ")
}

// location is the file and line where a node is written, when the catalog knows it.
func (v *view) location(id string) (file string, line int) {
	if v.c == nil {
		return "", 0
	}
	n, ok := v.c.Node(id)
	if !ok {
		return "", 0
	}
	t, ok := v.c.Tree(n.Tree)
	if !ok {
		return "", 0
	}
	return t.File, n.Line
}

// openPath is one open path of one goal, for the lists that sort paths across goals.
type openPath struct {
	Goal *analyzer.GoalResult
	Path analyzer.Path
	rank int // position of the goal in the report, to break ties stably
}

// openPaths lists the listed open paths of every goal that policies can close (residual
// false) or that are beyond them (residual true), shortest first, then in report order.
func (v *view) openPaths(residual bool) []openPath {
	var out []openPath
	rank := 0
	for ti := range v.r.Trees {
		for gi := range v.r.Trees[ti].Goals {
			g := &v.r.Trees[ti].Goals[gi]
			for _, p := range g.OpenPaths {
				if p.Residual == residual {
					out = append(out, openPath{Goal: g, Path: p, rank: rank})
				}
			}
			rank++
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if len(out[i].Path.Steps) != len(out[j].Path.Steps) {
			return len(out[i].Path.Steps) < len(out[j].Path.Steps)
		}
		return out[i].rank < out[j].rank
	})
	return out
}

// notShown sums the open paths beyond --max-paths over every goal.
func (v *view) notShown() *big.Int {
	sum := new(big.Int)
	for _, t := range v.r.Trees {
		for _, g := range t.Goals {
			if g.NotShown != nil {
				sum.Add(sum, g.NotShown)
			}
		}
	}
	return sum
}

// stepCountOrder is the order step counts are printed in.
var stepCountOrder = []analyzer.Status{
	analyzer.StatusBlocked, analyzer.StatusAttested, analyzer.StatusMonitored,
	analyzer.StatusBypassed, analyzer.StatusOpen, analyzer.StatusOutOfScope,
}

// StepCounts prints a figure's steps by status, the open ones split by why they are open
// (no deployed control, awaiting an attestation).
func StepCounts(f analyzer.Figures) string {
	m := f.StepCounts
	var parts []string
	for _, s := range stepCountOrder {
		if n, ok := m[s]; ok {
			part := fmt.Sprintf("%s %d", s, n)
			if s == analyzer.StatusOpen && len(f.OpenCounts) > 0 {
				part += " (" + openCounts(f.OpenCounts) + ")"
			}
			parts = append(parts, part)
		}
	}
	// Statuses this version does not know still show, sorted, so nothing is hidden.
	var extra []string
	for s, n := range m {
		known := false
		for _, k := range stepCountOrder {
			known = known || k == s
		}
		if !known {
			extra = append(extra, fmt.Sprintf("%s %d", s, n))
		}
	}
	sort.Strings(extra)
	return strings.Join(append(parts, extra...), ", ")
}

// openKindText names the kinds of open steps as reports print them.
var openKindText = map[analyzer.OpenKind]string{
	analyzer.OpenUncovered:   "no deployed control",
	analyzer.OpenAttestation: "awaiting attestation",
}

func openCounts(m map[analyzer.OpenKind]int) string {
	var parts []string
	for _, k := range []analyzer.OpenKind{analyzer.OpenUncovered, analyzer.OpenAttestation} {
		if n, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", openKindText[k], n))
		}
	}
	return strings.Join(parts, ", ")
}

// CeilingText says what policies can reach: the paths with a step some policy is mapped to,
// coverage against them, and the open paths beyond policies (residual risk), or "" for a
// result without these figures.
func CeilingText(f analyzer.PathFigures) string {
	if f.Ceiling == nil || f.OfCeiling == nil {
		return ""
	}
	return fmt.Sprintf("%s can be closed by policies; blocked %s of those; %s open paths beyond policies (residual risk)",
		f.Ceiling.Text("paths"), f.OfCeiling.Text("closable paths"), analyzer.CountText(f.Residual))
}

// unmapped lists the steps no policy is mapped to and that are neither out of scope nor
// attested: the gaps of the mapping itself, in result order.
func (v *view) unmapped() []*analyzer.StepResult {
	var out []*analyzer.StepResult
	for i := range v.r.Steps {
		s := &v.r.Steps[i]
		if len(s.Mapped) == 0 && s.Status != analyzer.StatusOutOfScope && s.Status != analyzer.StatusAttested && s.Status != analyzer.StatusBlocked {
			out = append(out, s)
		}
	}
	return out
}

func (v *view) withStatus(status analyzer.Status) []*analyzer.StepResult {
	var out []*analyzer.StepResult
	for i := range v.r.Steps {
		if v.r.Steps[i].Status == status {
			out = append(out, &v.r.Steps[i])
		}
	}
	return out
}

// statusText is a step's status with its evidence, e.g. "blocked (verified)".
func statusText(s analyzer.Status, e analyzer.Evidence) string {
	if s == analyzer.StatusBlocked && e != "" {
		return string(s) + " (" + string(e) + ")"
	}
	return string(s)
}

// establishedText says what a recommendation's "established" means, once per format.
var establishedText = map[analyzer.Established]string{
	analyzer.EstablishedSimulated: "re-analysed with the change applied",
	analyzer.EstablishedEstimated: "assumed to close the steps it addresses; not re-analysed",
}

// recCloses is the paths a recommendation closes, with how the set was chosen.
func recCloses(rec analyzer.Recommendation) string {
	closes := analyzer.CountText(rec.Closes)
	if !rec.Exact {
		closes += " (greedy)"
	}
	return closes
}
