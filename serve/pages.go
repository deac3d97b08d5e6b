package serve

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/frameworks"
	"github.com/threatcov/threatcov/reports"
)

//go:embed templates/*.html
var templateFS embed.FS

// Page limits: they keep a page readable and its size bounded whatever the catalog; the
// downloadable reports hold everything.
const (
	maxPathsPerGoal = 50  // open paths listed under each goal of a tree page
	maxPathsPerNode = 10  // open paths listed in a node's panel
	maxSearchHits   = 200 // search results shown
	maxQuery        = 200 // bytes of a search query considered
)

// pages holds one template set per page, each the layout plus the page's content.
type pages struct {
	index_, tree_, search_, policies_ *template.Template
}

func newPages() (*pages, error) {
	parse := func(name string) (*template.Template, error) {
		t, err := template.New(name).Funcs(template.FuncMap{"contains": strings.Contains}).ParseFS(templateFS, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("serve: parse templates: %w", err)
		}
		return t, nil
	}
	var p pages
	var err error
	if p.index_, err = parse("index.html"); err != nil {
		return nil, err
	}
	if p.tree_, err = parse("tree.html"); err != nil {
		return nil, err
	}
	if p.search_, err = parse("search.html"); err != nil {
		return nil, err
	}
	if p.policies_, err = parse("policies.html"); err != nil {
		return nil, err
	}
	return &p, nil
}

func execute(t *template.Template, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// layout is what every page shows around its content.
type layout struct {
	Title      string
	Page       string
	TreeID     string
	Version    string
	Query      string
	AnalyzedAt string // when this server ran the analysis (the result's own stamp is often zero, for reproducible reports)
	Failed     string
	Warnings   []string
	NavTrees   []link
	Reports    []link
}

type link struct{ Href, Text string }

func newLayout(snap *snapshot, title, page string) layout {
	l := layout{
		Title:      title,
		Page:       page,
		Version:    snap.etag,
		AnalyzedAt: snap.analyzedAt.Format("2006-01-02 15:04:05 MST"),
		Warnings:   snap.result.Warnings,
	}
	if snap.failed != nil {
		l.Failed = snap.failed.Error()
	}
	for _, t := range snap.catalog.Trees() {
		l.NavTrees = append(l.NavTrees, link{"/tree/" + t.ID, t.Title})
	}
	for _, f := range reportFiles {
		l.Reports = append(l.Reports, link{"/reports/" + f.name, f.title})
	}
	return l
}

// figures is a Figures as text, plus percentages for <meter> bars (nil when undefined).
type figures struct {
	Paths, Goals, Steps, Open, StepCounts, Ceiling string
	PathsPct, GoalsPct, StepsPct                   string // "" when undefined
}

func newFigures(f analyzer.Figures) figures {
	out := figures{
		Paths:    f.Paths.Coverage.Text("paths"),
		PathsPct: pctValue(&f.Paths.Coverage),
		Open:     analyzer.CountText(f.Paths.Open),
	}
	if f.Goals != nil {
		out.Goals, out.GoalsPct = f.Goals.Text("goals"), pctValue(f.Goals)
	}
	if f.Steps != nil {
		out.Steps, out.StepsPct = f.Steps.Text("addressable steps"), pctValue(f.Steps)
	}
	// As the reports print them: one way everywhere.
	out.StepCounts = reports.StepCounts(f)
	out.Ceiling = reports.CeilingText(f.Paths)
	return out
}

// pctValue is a percentage for a <meter> value attribute.
func pctValue(r *analyzer.Ratio) string {
	if r == nil || r.Percent == nil {
		return ""
	}
	return fmt.Sprintf("%.2f", *r.Percent)
}

// goalRow is one goal in the index and on its tree page.
type goalRow struct {
	ID, Label, Status, Href string
	Figures                 figures
	NotShown                string
	Paths                   []pathView
	More                    int // listed open paths not shown on the page
}

type treeRow struct {
	ID, Title, Href string
	Figures         figures
	Counts          treeCounts
	Goals           []goalRow
}

// treeCounts are a tree's sizes as `threatcov trees list` gives them (nodes, leaves, goals drawn
// in the tree), and what the step figures count: the leaves reachable from the tree's goals,
// through subtree references into other trees included, and how many of them are out of scope
// (left out of step coverage).
type treeCounts struct {
	Nodes, Leaves, Goals, Steps, OutOfScope int
}

func newTreeCounts(c *attacktrees.Catalog, t *attacktrees.Tree, f analyzer.Figures) treeCounts {
	tc := treeCounts{Nodes: len(t.Nodes), Goals: len(c.Goals(t.ID)), OutOfScope: f.StepCounts[analyzer.StatusOutOfScope]}
	for _, n := range t.Nodes {
		if c.IsLeaf(n) {
			tc.Leaves++
		}
	}
	for _, k := range f.StepCounts {
		tc.Steps += k
	}
	return tc
}

type recommendation struct {
	Rank                int
	Action, Policy      string
	Change, Established string
	Why, Alternatives   []string
	Steps               []stepLink
	Closes              string
	Exact               bool
}

type indexData struct {
	layout
	Summary         figures
	Inputs          analyzer.Inputs
	Trees           []treeRow
	Recommendations []recommendation
	Matrix          reports.Matrix
	// MatrixRows are the matrix's rows with each cell's steps linked to their trees.
	MatrixRows [][]*matrixCell
}

// matrixCell is one technique of the Threat Matrix grid, with links to its steps.
type matrixCell struct {
	*reports.MatrixCell
	Links []stepLink
}

// matrixRows links each mapped cell's steps to their place on their tree's page.
func (s *snapshot) matrixRows(m reports.Matrix) [][]*matrixCell {
	steps := map[string][]string{}
	for _, tc := range analyzer.Techniques(s.result, frameworks.Get(m.Framework)) {
		steps[tc.ID] = tc.Steps
	}
	var rows [][]*matrixCell
	for _, row := range m.Rows() {
		cells := make([]*matrixCell, len(row))
		for i, c := range row {
			if c == nil {
				continue
			}
			cells[i] = &matrixCell{MatrixCell: c}
			for _, id := range steps[c.ID] {
				cells[i].Links = append(cells[i].Links, s.stepLink(id))
			}
		}
		rows = append(rows, cells)
	}
	return rows
}

func (p *pages) index(snap *snapshot) ([]byte, error) {
	r := snap.result
	d := indexData{layout: newLayout(snap, "Coverage", "index"), Summary: newFigures(r.Summary), Inputs: r.Inputs,
		Matrix: reports.FrameworkMatrix(r, frameworks.Get(frameworks.ThreatMatrix))}
	d.MatrixRows = snap.matrixRows(d.Matrix)
	for _, t := range r.Trees {
		row := treeRow{ID: t.ID, Title: t.Title, Href: "/tree/" + t.ID, Figures: newFigures(t.Figures)}
		if ct, ok := snap.catalog.Tree(t.ID); ok {
			row.Counts = newTreeCounts(snap.catalog, ct, t.Figures)
		}
		for _, g := range t.Goals {
			row.Goals = append(row.Goals, newGoalRow(snap, &g))
		}
		d.Trees = append(d.Trees, row)
	}
	for _, rec := range r.Recommendations {
		if len(d.Recommendations) == 10 {
			break
		}
		v := recommendation{Rank: rec.Rank, Action: rec.Action, Policy: rec.Policy, Change: rec.Change, Established: string(rec.Established),
			Why: rec.Why, Alternatives: rec.Alternatives, Closes: analyzer.CountText(rec.Closes), Exact: rec.Exact}
		for _, s := range rec.Steps {
			v.Steps = append(v.Steps, snap.stepLink(s))
		}
		d.Recommendations = append(d.Recommendations, v)
	}
	return execute(p.index_, d)
}

func newGoalRow(snap *snapshot, g *analyzer.GoalResult) goalRow {
	row := goalRow{ID: g.ID, Label: g.Label, Status: string(g.Status), Figures: newFigures(g.Figures),
		Href: "/tree/" + g.Tree + "#" + goalAnchor(g.ID)}
	if row.Label == "" {
		row.Label = snap.label(g.ID)
	}
	if g.NotShown != nil && g.NotShown.Sign() > 0 {
		row.NotShown = g.NotShown.String()
	}
	return row
}

// Anchors: node ids are [a-z0-9-], so an underscore keeps these apart from the drawing's own
// element ids (which are the node ids).
func nodeAnchor(id string) string          { return "d_" + id }
func goalAnchor(id string) string          { return "g_" + id }
func pathAnchor(goal string, n int) string { return fmt.Sprintf("p_%s_%d", goal, n) }

// stepLink is a node named in a path or list, linking to its place on its tree's page.
type stepLink struct {
	ID, Label, Status, Tree, Href string
}

func (s *snapshot) stepLink(id string) stepLink {
	// A path element "node#action" is the node's own action: it links to the node and is
	// named by its label, never by the raw element id.
	if base, ok := analyzer.ElementNode(id); ok {
		l := s.stepLink(base)
		l.Label = analyzer.ElementLabel(l.Label, true)
		return l
	}
	tree := s.treeOf(id)
	return stepLink{ID: id, Label: s.label(id), Status: string(s.status(id)), Tree: tree,
		Href: "/tree/" + tree + "#" + nodeAnchor(id)}
}

// pathView is one open path: its steps, and the nodes of the drawing it runs through (every
// node between the goal and one of its steps), for the highlight.
type pathView struct {
	Anchor, Href, Goal, GoalLabel, GoalHref string
	N                                       int
	Nodes                                   string
	Steps                                   []stepLink
}

type nodeView struct {
	ID, Anchor, Label, Ref, Kind, Status, Evidence string
	Leaf                                           bool
	OpenPaths                                      string
	Targets                                        []stepLink // what a subtree box stands for
	Step                                           *analyzer.StepResult
	Mapped                                         []mappedPolicy
	Parents, Children                              []stepLink
	Paths                                          []pathView
	PathsListed                                    int
	PolicyRefs                                     string // every policy the step names, space-separated, for search
}

type mappedPolicy struct {
	Ref      string
	Deployed bool
}

type treeData struct {
	layout
	ID, TreeTitle, Source string
	Figures               figures
	Counts                treeCounts
	SVG                   template.HTML
	SVGError              string
	Focus                 string // the goal whose sub-tree is drawn, "" for the whole tree
	FocusLinks            []focusLink
	Goals                 []goalRow
	Nodes                 []nodeView
}

// focusLink is one entry of a many-goal tree's drawing chooser.
type focusLink struct {
	Href, Text string
	Current    bool
}

// tree renders one tree's page; with goal set, the drawing and the open paths are that goal's
// only. svg is the drawing (already reports' escaped SVG output).
func (p *pages) tree(snap *snapshot, id, goal string, svg []byte, svgErr error) ([]byte, error) {
	c := snap.catalog
	t, _ := c.Tree(id)
	d := treeData{layout: newLayout(snap, t.Title, "tree"), ID: t.ID, TreeTitle: t.Title, Source: t.Source, Focus: goal}
	d.TreeID = t.ID
	if goals := c.Goals(id); len(goals) > 1 {
		d.FocusLinks = append(d.FocusLinks, focusLink{Href: "/tree/" + id, Text: "all " + strconv.Itoa(len(goals)) + " goals", Current: goal == ""})
		for _, g := range goals {
			d.FocusLinks = append(d.FocusLinks, focusLink{Href: "/tree/" + id + "?goal=" + url.QueryEscape(g.ID), Text: g.Label, Current: g.ID == goal})
		}
	}
	if svgErr != nil {
		d.SVGError = svgErr.Error()
	} else {
		// reports.TreeSVG escapes every label it writes (it is XML); the drawing is ours.
		d.SVG = template.HTML(svg)
	}
	var tr *analyzer.TreeResult
	for i := range snap.result.Trees {
		if snap.result.Trees[i].ID == id {
			tr = &snap.result.Trees[i]
		}
	}
	if tr != nil {
		d.Figures = newFigures(tr.Figures)
		d.Counts = newTreeCounts(c, t, tr.Figures)
		for gi := range tr.Goals {
			g := &tr.Goals[gi]
			if goal != "" && g.ID != goal {
				continue
			}
			row := newGoalRow(snap, g)
			for pi, path := range g.OpenPaths {
				if pi == maxPathsPerGoal {
					row.More = len(g.OpenPaths) - pi
					break
				}
				row.Paths = append(row.Paths, snap.pathView(g, pi, path, true))
			}
			d.Goals = append(d.Goals, row)
		}
	}
	for _, n := range t.Nodes {
		if n.Kind == attacktrees.KindNote {
			continue
		}
		d.Nodes = append(d.Nodes, snap.nodeView(n))
	}
	return execute(p.tree_, d)
}

func reachSet(c *attacktrees.Catalog, id string) map[string]bool {
	set := map[string]bool{}
	if n, ok := c.Node(id); ok {
		for _, m := range c.Reachable(n) {
			set[m.ID] = true
		}
	}
	return set
}

// pathView builds path pi of goal g. When lit, its Nodes are the nodes of the goal's tree that
// the path uses (see pathNodes), for the highlight.
func (s *snapshot) pathView(g *analyzer.GoalResult, pi int, p analyzer.Path, lit bool) pathView {
	v := pathView{Anchor: pathAnchor(g.ID, pi+1), Goal: g.ID, GoalLabel: g.Label, N: pi + 1,
		GoalHref: "/tree/" + g.Tree + "#" + goalAnchor(g.ID)}
	v.Href = "/tree/" + g.Tree + "#" + v.Anchor
	if v.GoalLabel == "" {
		v.GoalLabel = s.label(g.ID)
	}
	if lit {
		v.Nodes = strings.Join(s.pathNodes(g, p), " ")
	}
	for _, step := range p.Steps {
		v.Steps = append(v.Steps, s.stepLink(step))
	}
	return v
}

// pathNodes is the nodes of the goal's tree that the path uses, sorted: a node is achieved by
// the path when it is one of its elements (a leaf); when its gate is satisfied by its achieved
// children (AND: all, OR: one, at least k: k) and, for a mapped inner node, its own action
// (node#action) is in the path too; or, for a subtree box, when what it stands for is achieved
// (and one of its own children, when it draws any), as docs/semantics.md models them. The path
// uses the goal and, from each node it uses, every achieved input: the nodes and edges an
// attacker following the path goes through, and nothing the path does not need, so a closed
// node (which an open path never achieves) is never among them. A node is not achieved through
// itself, so a reference cycle adds nothing. O(nodes + edges) of the goal's sub-graph.
func (s *snapshot) pathNodes(g *analyzer.GoalResult, p analyzer.Path) []string {
	elems := make(map[string]bool, len(p.Steps))
	for _, e := range p.Steps {
		elems[e] = true
	}
	memo := map[string]bool{}
	var achieved func(n *attacktrees.Node) bool
	// count evaluates every node (no short cut, so the walk below finds each one's answer).
	count := func(nodes []*attacktrees.Node) int {
		got := 0
		for _, n := range nodes {
			if achieved(n) {
				got++
			}
		}
		return got
	}
	achieved = func(n *attacktrees.Node) bool {
		if v, ok := memo[n.ID]; ok {
			return v
		}
		memo[n.ID] = false // while n is being decided, a way back to it achieves nothing
		targets, children := s.inputs(n)
		var ok bool
		switch {
		case n.Kind == attacktrees.KindSubtree:
			ok = count(targets) > 0
			if len(children) > 0 {
				ok = count(children) > 0 && ok
			}
		case len(children) == 0:
			ok = elems[n.ID]
		default:
			got := count(children)
			switch gate, k := n.Combine(); gate {
			case attacktrees.GateAnd:
				ok = got == len(children)
			case attacktrees.GateAtLeast:
				ok = got >= k
			default:
				ok = got > 0
			}
			if st, mapped := s.steps[n.ID]; mapped && st.Status != analyzer.StatusOutOfScope {
				ok = ok && elems[analyzer.ActionElement(n.ID)]
			}
		}
		memo[n.ID] = ok
		return ok
	}
	goal, ok := s.catalog.Node(g.ID)
	if !ok || !achieved(goal) {
		return nil
	}
	used := map[string]bool{}
	stack := []*attacktrees.Node{goal}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if used[n.ID] {
			continue
		}
		used[n.ID] = true
		targets, children := s.inputs(n)
		for _, in := range append(targets, children...) {
			if memo[in.ID] {
				stack = append(stack, in)
			}
		}
	}
	ids := make([]string, 0, len(used))
	for id := range used {
		if n, _ := s.catalog.Node(id); n.Tree == goal.Tree {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// inputs is what a node is achieved from: for a subtree box, the nodes it stands for and its
// own children (this catalog resolves a box's target as its only children, so a box has no
// children of its own here); for any other node, its children.
func (s *snapshot) inputs(n *attacktrees.Node) (targets, children []*attacktrees.Node) {
	if n.Kind == attacktrees.KindSubtree {
		return s.catalog.Targets(n), s.catalog.Children(n)
	}
	return nil, s.catalog.Children(n)
}

func (s *snapshot) nodeView(n *attacktrees.Node) nodeView {
	v := nodeView{ID: n.ID, Anchor: nodeAnchor(n.ID), Label: n.Label, Ref: n.Ref, Kind: kindText(n),
		Leaf: s.catalog.IsLeaf(n)}
	if nr, ok := s.nodes[n.ID]; ok {
		v.Status, v.Evidence, v.OpenPaths = string(nr.Status), string(nr.Evidence), analyzer.CountText(nr.OpenPaths)
	}
	if st, ok := s.steps[n.ID]; ok {
		v.Step = st
		var refs []string
		for _, pr := range stepPolicies(st) {
			refs = append(refs, pr.Ref)
		}
		v.PolicyRefs = strings.Join(refs, " ")
		if v.Status == "" {
			v.Status, v.Evidence = string(st.Status), string(st.Evidence)
		}
		missing := map[string]bool{}
		for _, m := range st.Missing {
			missing[m] = true
		}
		for _, m := range st.Mapped {
			v.Mapped = append(v.Mapped, mappedPolicy{Ref: m, Deployed: !missing[m]})
		}
	}
	// A subtree box stands for its targets and, when it draws children, needs one of them
	// too (docs/semantics.md, "Subtree boxes").
	for _, tg := range s.catalog.Targets(n) {
		v.Targets = append(v.Targets, s.stepLink(tg.ID))
	}
	for _, ch := range s.catalog.Children(n) {
		v.Children = append(v.Children, s.stepLink(ch.ID))
	}
	for _, par := range s.catalog.Parents(n) {
		v.Parents = append(v.Parents, s.stepLink(par.ID))
	}
	v.Paths, v.PathsListed = s.pathsThrough(n)
	return v
}

// pathsThrough lists the listed open paths that go through this node: paths of a goal above
// it (or of itself) that contain it or a node below it. It returns the first maxPathsPerNode
// in report order, and how many there are in all.
func (s *snapshot) pathsThrough(n *attacktrees.Node) ([]pathView, int) {
	seen := map[pathRef]bool{}
	var refs []pathRef
	for _, m := range s.catalog.Reachable(n) {
		for _, ref := range s.pathsByStep[m.ID] {
			goal := s.result.Trees[ref.tree].Goals[ref.goal].ID
			if !seen[ref] && s.goalReach[goal][n.ID] {
				seen[ref] = true
				refs = append(refs, ref)
			}
		}
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].less(refs[j]) })
	var out []pathView
	for _, ref := range refs {
		if len(out) == maxPathsPerNode {
			break
		}
		g := &s.result.Trees[ref.tree].Goals[ref.goal]
		out = append(out, s.pathView(g, ref.path, g.OpenPaths[ref.path], false))
	}
	return out, len(refs)
}

func kindText(n *attacktrees.Node) string {
	gate, k := n.Combine()
	switch n.Kind {
	case attacktrees.KindGoal:
		if gate == attacktrees.GateAtLeast {
			return fmt.Sprintf("goal (%d of %d)", k, len(n.Children))
		}
		return "goal (" + strings.ToUpper(string(gate)) + ")"
	case attacktrees.KindAtLeast:
		return fmt.Sprintf("%d-of-%d gate", k, len(n.Children))
	case attacktrees.KindAnd, attacktrees.KindOr:
		return strings.ToUpper(string(n.Kind)) + " gate"
	case attacktrees.KindSubtree:
		if len(n.Children) > 0 {
			return "subtree reference, AND one of its children"
		}
		return "subtree reference"
	}
	return "attack step"
}

type searchHit struct {
	stepLink
	Ref, TreeTitle string
	Matched        string // what matched when it is not the label, ref or id: a policy and its role
}

type searchData struct {
	layout
	Hits []searchHit
	More int
}

// search finds nodes whose label, ref or id contains q, or that a policy whose reference contains
// q blocks, monitors or is mapped to (should block), case-insensitively, in catalog order.
func (p *pages) search(snap *snapshot, q string) ([]byte, error) {
	d := searchData{layout: newLayout(snap, "Search", "search")}
	d.Query = q
	if q = strings.ToLower(strings.TrimSpace(q)); q != "" {
		for _, n := range snap.catalog.Nodes() {
			if n.Kind == attacktrees.KindNote {
				continue
			}
			matched := ""
			if !strings.Contains(strings.ToLower(n.Label), q) && !strings.Contains(strings.ToLower(n.Ref), q) &&
				!strings.Contains(n.ID, q) {
				if matched = policyMatch(snap.steps[n.ID], q); matched == "" {
					continue
				}
			}
			if len(d.Hits) == maxSearchHits {
				d.More++
				continue
			}
			t, _ := snap.catalog.Tree(n.Tree)
			d.Hits = append(d.Hits, searchHit{stepLink: snap.stepLink(n.ID), Ref: n.Ref, TreeTitle: t.Title, Matched: matched})
		}
	}
	return execute(p.search_, d)
}

// stepPolicies is every policy reference a step names, each once, with its role: blocking
// (deployed and denying every probe), monitoring, or mapped (should block; deployed or not).
func stepPolicies(st *analyzer.StepResult) []policyRole {
	if st == nil {
		return nil
	}
	var out []policyRole
	seen := map[string]bool{}
	add := func(ref, role string) {
		if !seen[ref] {
			seen[ref] = true
			out = append(out, policyRole{ref, role})
		}
	}
	for _, ref := range st.Blocking {
		add(ref, "blocks")
	}
	for _, ref := range st.Monitoring {
		add(ref, "monitors")
	}
	missing := map[string]bool{}
	for _, m := range st.Missing {
		missing[m] = true
	}
	for _, ref := range st.Mapped {
		if missing[ref] {
			add(ref, "should block (not deployed)")
		} else {
			add(ref, "should block")
		}
	}
	return out
}

type policyRole struct{ Ref, Role string }

// policyMatch names the first policy of a step whose reference contains q (lower case), with
// its role, or "".
func policyMatch(st *analyzer.StepResult, q string) string {
	for _, pr := range stepPolicies(st) {
		if strings.Contains(strings.ToLower(pr.Ref), q) {
			return pr.Ref + ": " + pr.Role
		}
	}
	return ""
}
