package reports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"regexp"
	"slices"
	"strings"
	"sync"

	graphviz "github.com/goccy/go-graphviz"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
)

// statusStyle is how one status is drawn. The gate keeps the shape and fill of the CNCF legend;
// the status is drawn around and under it, never over it: the outline's colour, width and line
// style, and a badge (glyph and word) under the label. Colour is never the only cue, so the
// drawing reads in greyscale and for colour-blind readers. Colours are the Okabe-Ito palette.
type statusStyle struct {
	glyph, word  string
	color        string // outline; the badge uses darker(color)
	style        string // graphviz line style: solid, dashed, dotted
	penwidth     string
	peripheries  int
	legendDetail string
}

var (
	styleVerified  = statusStyle{"✔", "BLOCKED (verified)", "#009E73", "solid", "2.5", 1, "enforcing policy denied every probe"}
	styleLive      = statusStyle{"✔", "BLOCKED (live)", "#009E73", "solid", "2.5", 1, "the cluster denied every probe"}
	styleDeclared  = statusStyle{"☑", "BLOCKED (declared)", "#009E73", "dashed", "2.5", 1, "enforcing policy deployed, not executed"}
	styleMonitored = statusStyle{"◉", "MONITORED", "#E69F00", "dotted", "3", 1, "flagged by dry-run/warn/audit only"}
	styleBypassed  = statusStyle{"✖", "BYPASSED", "#CC79A7", "solid", "2.5", 2, "enforcing policy admits a variant"}
	styleAttested  = statusStyle{"✎", "ATTESTED", "#0072B2", "dashed", "1.5", 1, "non-admission control attested"}
	styleOpen      = statusStyle{"⚠", "OPEN", "#D55E00", "solid", "3.5", 1, "nothing blocks it"}
	styleOutScope  = statusStyle{"∅", "OUT OF SCOPE", "#7F7F7F", "dotted", "1.5", 1, "beyond admission; open for paths"}
	styleNone      = statusStyle{"", "", "#000000", "solid", "1", 1, ""}
)

func styleOf(s analyzer.Status, e analyzer.Evidence) statusStyle {
	switch s {
	case analyzer.StatusBlocked:
		switch e {
		case analyzer.EvidenceDeclared:
			return styleDeclared
		case analyzer.EvidenceLive:
			return styleLive
		}
		return styleVerified
	case analyzer.StatusMonitored:
		return styleMonitored
	case analyzer.StatusBypassed:
		return styleBypassed
	case analyzer.StatusAttested:
		return styleAttested
	case analyzer.StatusOpen:
		return styleOpen
	case analyzer.StatusOutOfScope:
		return styleOutScope
	}
	return styleNone
}

// Fills of the CNCF legend (the KEY box of every PDF page, sampled from its render): light-blue
// dome AND, light-green pointed-arch OR, white rounded NODE, yellow label/note, salmon subtree,
// strong-blue GOAL (dome = AND, pointed arch = OR, rounded box = plain).
const (
	fillAnd     = "#B7DDE8"
	fillOr      = "#D7E3BF"
	fillGoal    = "#66B2FF"
	fillStep    = "#FFFFFF"
	fillNote    = "#FFE599"
	fillSubtree = "#D9958F"
	colorEdge   = "#333333"
	colorHot    = "#D55E00"
)

// shapeKind is the outline drawn for a node (see shapes.go): graphviz lays every node out as a
// box, and the box is then redrawn as the legend's shape around the same label.
type shapeKind int

const (
	shapeRounded shapeKind = iota // NODE, subtree, plain goal
	shapeRect                     // note
	shapeDome                     // AND
	shapeArch                     // OR
)

// Heights (points) of the curved top of a dome and an arch. The label reserves this band (the
// gate word sits at its bottom, where the shape is wide), so no text meets the curve.
const (
	domeBand = 14
	archBand = 26
)

// nodeShape is a node's legend shape, fill and gate word.
func nodeShape(n *attacktrees.Node) (shape shapeKind, fill, gate string) {
	gateShape := func(g attacktrees.Gate, k, children int) (shapeKind, string) {
		switch g {
		case attacktrees.GateAnd:
			return shapeDome, "AND"
		case attacktrees.GateOr:
			return shapeArch, "OR"
		case attacktrees.GateAtLeast:
			return shapeDome, fmt.Sprintf("%d OF %d", k, children)
		}
		return shapeRounded, ""
	}
	switch n.Kind {
	case attacktrees.KindGoal:
		shape, gate = gateShape(n.Gate, n.K, len(n.Children))
		return shape, fillGoal, strings.TrimSpace("GOAL " + gate)
	case attacktrees.KindAnd:
		return shapeDome, fillAnd, "AND"
	case attacktrees.KindOr:
		return shapeArch, fillOr, "OR"
	case attacktrees.KindAtLeast:
		return shapeDome, fillAnd, fmt.Sprintf("%d OF %d", n.K, len(n.Children))
	case attacktrees.KindNote:
		return shapeRect, fillNote, ""
	case attacktrees.KindSubtree:
		gate = "SUBTREE"
		if len(n.Children) > 0 {
			gate = "SUBTREE AND ONE CHILD" // AND(target, OR(children)), docs/semantics.md
		}
		return shapeRounded, fillSubtree, gate
	}
	return shapeRounded, fillStep, ""
}

// MaxDrawNodes is the largest tree TreeDOT and TreeSVG draw. Graphviz's layout grows faster
// than linearly (about 5 s for 2,000 densely linked nodes here); the CNCF trees have at most a
// few hundred nodes. A larger tree is refused with ErrTooLarge rather than left to run for
// minutes, which a hostile tree file could otherwise cause.
const MaxDrawNodes = 2000

// orthoMaxNodes is the largest drawing with right-angled connectors, as the PDFs have. Graphviz's
// orthogonal router grows much faster than its layout (about 0.5 s for the 98 nodes of the
// largest CNCF tree, 12 s for 500, a minute for 1,000), so a larger drawing gets straight-segment
// connectors instead, which keep the whole render within a few seconds up to MaxDrawNodes.
const orthoMaxNodes = 250

// ErrTooLarge is returned for a tree of more than MaxDrawNodes nodes.
var ErrTooLarge = errors.New("tree too large to draw")

// TreeDOT returns the DOT text of one tree annotated with the statuses of r, laid out as the
// CNCF PDFs are: goals along the top row, right-angled connectors, the legend's gate shapes and
// fills (the shapes are drawn by TreeSVG; in DOT every node is a box), the status as outline
// and badge, the blocking policies of each leaf wrapped in full, the edges of open paths drawn
// thick and dashed, a legend and a title with the tree's figures. r may be nil (no analysis):
// the tree is drawn without statuses. Every label is escaped. Deterministic: node and edge
// order follow the tree file.
func TreeDOT(c *attacktrees.Catalog, r *analyzer.Result, treeID string) ([]byte, error) {
	t, err := drawable(c, treeID)
	if err != nil {
		return nil, err
	}
	return treeDOT(c, newView(r, c), t, nil), nil
}

// drawable returns the tree treeID, or why it cannot be drawn.
func drawable(c *attacktrees.Catalog, treeID string) (*attacktrees.Tree, error) {
	t, ok := c.Tree(treeID)
	if !ok {
		return nil, fmt.Errorf("no tree %q in the catalog: run 'threatcov trees list' for the tree ids", treeID)
	}
	if len(t.Nodes) > MaxDrawNodes {
		return nil, fmt.Errorf("%w: tree %q has %d nodes, more than %d: read it with 'threatcov trees show %s' instead", ErrTooLarge, treeID, len(t.Nodes), MaxDrawNodes, treeID)
	}
	return t, nil
}

// treeDOT draws tree t; keep, when not nil, is the set of node ids to draw (see WithGoals).
func treeDOT(c *attacktrees.Catalog, v *view, t *attacktrees.Tree, keep map[string]bool) []byte {
	d := &dotTree{c: c, v: v, t: t, keep: keep, isGoal: map[string]bool{}}
	d.header()
	for _, n := range t.Nodes {
		if d.drawn(n.ID) {
			fmt.Fprintf(&d.b, "  %s [%s];\n", dotID(n.ID), v.nodeAttrs(n))
		}
	}
	d.topRow()
	d.secondRow()
	for _, n := range t.Nodes {
		switch {
		case !d.drawn(n.ID):
		case n.Kind == attacktrees.KindNote:
			d.noteEdges(n)
		default:
			d.edges(n)
		}
	}
	fmt.Fprintf(&d.b, "  %s [id=%s, shape=plain, label=<%s>];\n", dotID("legend:"+t.ID), dotID("legend:"+t.ID), legendLabel())
	fmt.Fprintf(&d.b, "  { rank=sink; %s }\n", dotID("legend:"+t.ID))
	d.b.WriteString("}\n")
	return d.b.Bytes()
}

// dotTree is one tree being written as DOT.
type dotTree struct {
	b    bytes.Buffer
	c    *attacktrees.Catalog
	v    *view
	t    *attacktrees.Tree
	keep map[string]bool // nil: every node
	// isGoal are the drawn goals, filled by topRow.
	isGoal map[string]bool
}

func (d *dotTree) drawn(id string) bool { return d.keep == nil || d.keep[id] }

// header opens the graph: its title, the connector style that suits its size, the defaults.
func (d *dotTree) header() {
	title := d.v.titleLabel(d.t)
	drawnNodes := len(d.t.Nodes)
	if d.keep != nil {
		title = "<FONT POINT-SIZE=\"11\">one goal's sub-tree of</FONT><BR/>" + title
		drawnNodes = len(d.keep)
	}
	splines := "ortho"
	if drawnNodes > orthoMaxNodes {
		splines = "polyline"
	}
	fmt.Fprintf(&d.b, "digraph %s {\n", dotID(d.t.ID))
	fmt.Fprintf(&d.b, "  graph [id=%s, rankdir=TB, splines=%s, nodesep=0.3, ranksep=0.45, labelloc=t, fontname=%q, fontsize=16, label=<%s>];\n",
		dotID("tree:"+d.t.ID), splines, drawFont, title)
	fmt.Fprintf(&d.b, "  node [shape=box, fontname=%q, fontsize=11, margin=\"0.09,0.05\"];\n", drawFont)
	fmt.Fprintf(&d.b, "  edge [color=%s, arrowsize=0.6];\n", dotID(colorEdge))
}

// topRow puts the goals along the top row, as on the PDF pages. A note sits beside the node
// it annotates first (on the top row when that is a goal), as the PDF pages place notes.
func (d *dotTree) topRow() {
	top := []string{}
	for _, g := range d.c.Goals(d.t.ID) {
		if d.drawn(g.ID) {
			top, d.isGoal[g.ID] = append(top, dotID(g.ID)), true
		}
	}
	for _, n := range d.t.Nodes {
		if n.Kind != attacktrees.KindNote || len(n.Annotates) == 0 || !d.drawn(n.ID) {
			continue
		}
		if target, ok := d.c.Node(n.Annotates[0]); ok && target.Tree == d.t.ID {
			if d.isGoal[target.ID] {
				top = append(top, dotID(n.ID))
			} else {
				fmt.Fprintf(&d.b, "  { rank=same; %s; %s }\n", dotID(target.ID), dotID(n.ID))
			}
		}
	}
	if len(top) > 0 {
		fmt.Fprintf(&d.b, "  { rank=min; %s }\n", strings.Join(top, "; "))
	}
}

// secondRow puts the goals' children on the row below them, as on the PDF pages (graphviz
// would otherwise push a child down to shorten its other edges): those whose parents in the
// tree are all goals, so the constraint can always be met.
func (d *dotTree) secondRow() {
	var second []string
	for _, n := range d.t.Nodes {
		if !d.drawn(n.ID) || d.isGoal[n.ID] || n.Kind == attacktrees.KindNote {
			continue
		}
		parents, onlyGoals := 0, true
		for _, p := range d.c.Parents(n) {
			if p.Tree == d.t.ID && d.drawn(p.ID) {
				parents++
				onlyGoals = onlyGoals && d.isGoal[p.ID]
			}
		}
		if parents > 0 && onlyGoals {
			second = append(second, dotID(n.ID))
		}
	}
	if len(second) > 0 {
		fmt.Fprintf(&d.b, "  { rank=same; %s }\n", strings.Join(second, "; "))
	}
}

// noteEdges links a note to the drawn nodes of this tree it annotates.
func (d *dotTree) noteEdges(n *attacktrees.Node) {
	for _, target := range n.Annotates {
		if tn, ok := d.c.Node(target); !ok || tn.Tree != d.t.ID || !d.drawn(target) {
			continue
		}
		fmt.Fprintf(&d.b, "  %s -> %s [id=%s, style=dashed, arrowhead=none, color=%s];\n",
			dotID(target), dotID(n.ID), dotID("note:"+n.ID+"--"+target), dotID("#B8A200"))
	}
}

// edges draws a node's connectors to its drawn children in this tree, open-path edges thick
// and dashed, and a box's references to its targets in this tree.
func (d *dotTree) edges(n *attacktrees.Node) {
	for _, ch := range d.c.Children(n) {
		if ch.Tree != d.t.ID || !d.drawn(ch.ID) {
			continue // a subtree's target in another tree: the label names it
		}
		attrs := "id=" + dotID(n.ID+"--"+ch.ID)
		if d.v.r != nil && d.v.openThrough(n.ID) && d.v.openThrough(ch.ID) {
			attrs += fmt.Sprintf(", color=%s, penwidth=2.5, style=dashed, class=\"open-path\"", dotID(colorHot))
		}
		fmt.Fprintf(&d.b, "  %s -> %s [%s];\n", dotID(n.ID), dotID(ch.ID), attrs)
	}
	for _, tg := range d.c.Targets(n) {
		if tg.Tree != d.t.ID || !d.drawn(tg.ID) {
			continue // another tree's goal or node, or off the one-goal view: the label names it
		}
		// A box's sub-tree page in the same tree: drawn as a reference, not a connector.
		fmt.Fprintf(&d.b, "  %s -> %s [id=%s, style=dotted, arrowhead=empty];\n", dotID(n.ID), dotID(tg.ID), dotID(n.ID+"--target--"+tg.ID))
	}
}

// openThrough reports whether open paths run through a node: its open-path count when the
// analysis gives one, else its status. An edge between two such nodes is drawn as part of an
// open path (the count is over all goals, so this marks every edge some open path uses).
func (v *view) openThrough(id string) bool {
	n, ok := v.nodes[id]
	if !ok || n.Status.Closes() {
		return false // a closed node has no open path through it, whatever lies under it
	}
	if n.OpenPaths != nil {
		return n.OpenPaths.Sign() > 0
	}
	return !n.Status.Closes()
}

func (v *view) titleLabel(t *attacktrees.Tree) string {
	title := "<B>" + htmlText(t.Title) + "</B>"
	if v.r == nil {
		return title + "<BR/><FONT POINT-SIZE=\"11\">no analysis: statuses not shown</FONT>"
	}
	for _, tr := range v.r.Trees {
		if tr.ID != t.ID {
			continue
		}
		f := tr.Figures
		figures := fmt.Sprintf("paths blocked %s · open %s · goals blocked %s · steps blocked %s",
			f.Paths.Coverage.Text("paths"), analyzer.CountText(f.Paths.Open), f.Goals.Text("goals"), f.Steps.Text("addressable steps"))
		return title + "<BR/><FONT POINT-SIZE=\"11\">" + htmlText(figures) + "</FONT>"
	}
	return title + "<BR/><FONT POINT-SIZE=\"11\">not analysed</FONT>"
}

// Widths, in characters, labels and policy lists are wrapped at: about the PDF's box widths.
const (
	labelWrap  = 24
	gateWrap   = 17
	policyWrap = 34
)

func (v *view) nodeAttrs(n *attacktrees.Node) string {
	shape, fill, gate := nodeShape(n)
	st := styleNone
	nr, analysed := v.nodes[n.ID]
	if analysed && n.Kind != attacktrees.KindNote {
		st = styleOf(nr.Status, nr.Evidence)
		if nr.Status == analyzer.StatusBlocked && nr.Evidence == "" {
			st.word = "BLOCKED" // an inner node: blocked through its children
		}
	}
	var rows []string
	if gate != "" {
		cell := `<TD>`
		switch shape {
		case shapeDome:
			cell = fmt.Sprintf(`<TD HEIGHT="%d" VALIGN="BOTTOM">`, domeBand)
		case shapeArch:
			cell = fmt.Sprintf(`<TD HEIGHT="%d" VALIGN="BOTTOM">`, archBand)
		}
		rows = append(rows, cell+`<FONT POINT-SIZE="8"><B>`+htmlText(gate)+`</B></FONT></TD>`)
	}
	wrap := labelWrap
	if shape == shapeDome || shape == shapeArch {
		wrap = gateWrap // the PDF's gates are narrow, and a narrow arch reads as one
	}
	label := wrapHTML(n.Label, wrap)
	if n.Ref != "" {
		label += " [" + htmlText(n.Ref) + "]"
	}
	if n.TBC {
		label += " (TBC)"
	}
	rows = append(rows, "<TD>"+label+"</TD>")
	if n.Kind == attacktrees.KindSubtree {
		rows = append(rows, `<TD><FONT POINT-SIZE="9">`+wrapHTML("→ "+v.subtreeTarget(n), policyWrap)+`</FONT></TD>`)
	}
	if st.word != "" {
		rows = append(rows, badge(st))
	}
	if analysed {
		small := func(text string) string {
			return `<TD><FONT POINT-SIZE="9">` + wrapIDs(text, policyWrap) + `</FONT></TD>`
		}
		if len(nr.Policies) > 0 {
			rows = append(rows, small(listCapped("policy: ", "policies: ", nr.Policies)))
		}
		if s, ok := v.steps[n.ID]; ok {
			if nr.Status == analyzer.StatusMonitored && len(s.Monitoring) > 0 {
				rows = append(rows, small(listCapped("monitored by: ", "monitored by: ", s.Monitoring)))
			}
			if nr.Status == analyzer.StatusBypassed && len(s.Admitted) > 0 {
				rows = append(rows, small(listCapped("admits: ", "admits: ", s.Admitted)))
			}
		}
	}
	var label2 strings.Builder
	label2.WriteString(`<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1" CELLPADDING="0">`)
	for _, r := range rows {
		label2.WriteString("<TR>" + r + "</TR>")
	}
	label2.WriteString("</TABLE>")
	style := []string{"filled"}
	if st.style != "solid" {
		style = append(style, st.style)
	}
	attrs := []string{
		"id=" + dotID(n.ID),
		"style=" + dotID(strings.Join(style, ",")),
		"fillcolor=" + dotID(fill),
		"color=" + dotID(st.color),
		"penwidth=" + st.penwidth,
		"label=<" + label2.String() + ">",
	}
	if st.peripheries > 1 {
		attrs = append(attrs, fmt.Sprintf("peripheries=%d", st.peripheries))
	}
	return strings.Join(attrs, ", ")
}

// badge is a status's glyph and word, white on the status colour, as one table cell.
func badge(st statusStyle) string {
	return fmt.Sprintf(`<TD BGCOLOR="%s" STYLE="rounded" CELLPADDING="1"><FONT COLOR="#FFFFFF" POINT-SIZE="9"><B>%s %s</B></FONT></TD>`,
		darker(st.color), st.glyph, htmlText(st.word))
}

// subtreeTarget names what a subtree box stands for: its target node's label, and the tree when
// that is another one; or the whole tree it names.
func (v *view) subtreeTarget(n *attacktrees.Node) string {
	if tn, ok := v.c.Node(n.Target); ok {
		if tn.Tree != n.Tree {
			if t, ok := v.c.Tree(tn.Tree); ok {
				return tn.Label + " (tree " + t.Title + ")"
			}
		}
		return tn.Label
	}
	if t, ok := v.c.Tree(n.Target); ok {
		return "tree " + t.Title
	}
	return n.Target
}

// tooltip is the <title> of a node in the SVG: what a reader hovering it wants to know.
func (v *view) tooltip(n *attacktrees.Node) string {
	text := n.ID + ": " + n.Label
	nr, ok := v.nodes[n.ID]
	if !ok || n.Kind == attacktrees.KindNote {
		return text
	}
	text += "\nstatus: " + statusText(nr.Status, nr.Evidence)
	if len(nr.Policies) > 0 {
		text += "\nblocked by: " + strings.Join(nr.Policies, ", ")
	}
	if s, ok := v.steps[n.ID]; ok {
		if len(s.Monitoring) > 0 {
			text += "\nmonitored by: " + strings.Join(s.Monitoring, ", ")
		}
		if len(s.Admitted) > 0 {
			text += "\nadmitted: " + strings.Join(s.Admitted, ", ")
		}
		if s.Explanation != "" {
			text += "\n" + s.Explanation
		}
	}
	if nr.OpenPaths != nil {
		text += "\nopen paths through it: " + nr.OpenPaths.String()
	}
	return text
}

// legendLabel is the legend, in two column pairs so it stays low under a wide tree: the CNCF
// key's shapes and fills with the open-path edge and the policy line on the left, each status
// as it is drawn (badge, outline colour and line style) on the right.
func legendLabel() string {
	var left, right []string
	kinds := []struct{ fill, name, detail string }{
		{fillGoal, "GOAL", "dome = AND, pointed arch = OR, box = plain"},
		{fillAnd, "AND", "dome: every child needed"},
		{fillOr, "OR", "pointed arch: any one child"},
		{fillStep, "step", "rounded box: an attack step"},
		{fillNote, "note", "a note on the node beside it"},
		{fillSubtree, "SUBTREE", "stands for another (sub)tree"},
	}
	for _, k := range kinds {
		left = append(left, fmt.Sprintf(`<TD BORDER="1" COLOR="#555555" BGCOLOR="%s" STYLE="rounded">%s</TD><TD ALIGN="LEFT"><FONT POINT-SIZE="9">%s</FONT></TD>`,
			k.fill, htmlText(k.name), htmlText(k.detail)))
	}
	left = append(left,
		fmt.Sprintf(`<TD BORDER="2" COLOR="%s" STYLE="dashed"><FONT COLOR="%s"><B>thick dashed</B></FONT></TD><TD ALIGN="LEFT"><FONT POINT-SIZE="9">edge on an open path</FONT></TD>`, colorHot, darker(colorHot)),
		`<TD><FONT POINT-SIZE="9">policy: p</FONT></TD><TD ALIGN="LEFT"><FONT POINT-SIZE="9">enforcing policies mapped to the step</FONT></TD>`)
	for _, st := range []statusStyle{styleVerified, styleDeclared, styleMonitored, styleBypassed, styleAttested, styleOpen, styleOutScope} {
		cellStyle := ""
		if st.style != "solid" {
			cellStyle = ` STYLE="` + st.style + `"`
		}
		border := "2"
		if st.peripheries > 1 {
			border = "4" // drawn double around the node
		}
		right = append(right, fmt.Sprintf(`<TD BORDER="%s" COLOR="%s"%s CELLPADDING="2"><TABLE BORDER="0" CELLSPACING="0"><TR>%s</TR></TABLE></TD><TD ALIGN="LEFT"><FONT POINT-SIZE="9">%s</FONT></TD>`,
			border, st.color, cellStyle, badge(st), htmlText(st.legendDetail)))
	}
	var b strings.Builder
	b.WriteString(`<TABLE BORDER="1" COLOR="#999999" CELLBORDER="0" CELLSPACING="3" CELLPADDING="3">`)
	b.WriteString(`<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Legend</B></TD><TD COLSPAN="2" ALIGN="LEFT"><FONT POINT-SIZE="9">status: outline and badge</FONT></TD></TR>`)
	for i := 0; i < max(len(left), len(right)); i++ {
		b.WriteString("<TR>")
		for _, col := range [][]string{left, right} {
			if i < len(col) {
				b.WriteString(col[i])
			} else {
				b.WriteString(`<TD COLSPAN="2"></TD>`)
			}
		}
		b.WriteString("</TR>")
	}
	b.WriteString(`</TABLE>`)
	return b.String()
}

// listCapped lists at most three items after a prefix, counting the rest, so a step that many
// probes bypass stays a readable box (the tooltip and the reports list them all).
func listCapped(one, many string, items []string) string {
	prefix := many
	if len(items) == 1 {
		prefix = one
	}
	if len(items) <= 3 {
		return prefix + strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s%s +%d more", prefix, strings.Join(items[:3], ", "), len(items)-3)
}

// darker gives the status colour for text on light fills: the outline colours are too light to
// read as text at small sizes.
func darker(color string) string {
	switch color {
	case "#009E73":
		return "#00684B"
	case "#E69F00":
		return "#8A5F00"
	case "#CC79A7":
		return "#8C3A68"
	case "#0072B2":
		return "#004D78"
	case "#D55E00":
		return "#A33F00"
	case "#7F7F7F":
		return "#505050"
	}
	return color
}

// dotID quotes a string as a DOT identifier: backslash and quote escaped, line breaks dropped
// (DOT's escString sequences such as \N start with a backslash, which is doubled).
func dotID(s string) string {
	return "\"" + dotIDEscaper.Replace(s) + "\""
}

// dotIDEscaper is built once: a Replacer builds its lookup table on first use, which was 7% of
// drawing a tree when dotID made a new one per call.
var dotIDEscaper = strings.NewReplacer("\\", "\\\\", "\"", "\\\"", "\n", " ", "\r", " ")

// htmlText escapes text for a graphviz HTML-like label. Ampersands are escaped too, so an entity
// written in a label ("&lt;") shows as written instead of being decoded.
// A backslash is doubled: graphviz expands escapes such as \N (the node name) in every label,
// HTML-like ones included, even after decoding character references, and reads \\ as one backslash.
func htmlText(s string) string {
	return strings.ReplaceAll(html.EscapeString(oneLine(s)), "\\", "\\\\")
}

// wrapHTML breaks text into lines of about width characters at spaces, each line escaped.
func wrapHTML(s string, width int) string {
	return wrapLines(s, width, false)
}

// wrapIDs wraps like wrapHTML, and also breaks a word longer than width (a policy id such as
// gatekeeper:K8sPSPHostNamespace/psp-host-namespace) after one of : / - . _ so that it is shown
// in full over several lines instead of widening the box; a word with no such place is cut at
// width.
func wrapIDs(s string, width int) string {
	return wrapLines(s, width, true)
}

func wrapLines(s string, width int, splitLong bool) string {
	type piece struct {
		text  string
		space bool // a space separates it from the piece before
	}
	var pieces []piece
	for _, w := range strings.Fields(oneLine(s)) {
		if !splitLong || len([]rune(w)) <= width {
			pieces = append(pieces, piece{w, true})
			continue
		}
		for i, p := range splitWord(w, width) {
			pieces = append(pieces, piece{p, i == 0})
		}
	}
	var lines []string
	line := ""
	for _, p := range pieces {
		sep := ""
		if p.space && line != "" {
			sep = " "
		}
		if line != "" && len([]rune(line))+len(sep)+len([]rune(p.text)) > width {
			lines = append(lines, line)
			line = p.text
			continue
		}
		line += sep + p.text
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	for i, l := range lines {
		lines[i] = htmlText(l)
	}
	return strings.Join(lines, "<BR/>")
}

// splitWord cuts a long word into pieces of at most width characters, each ending after a
// separator where there is one.
func splitWord(w string, width int) []string {
	var out []string
	r := []rune(w)
	for len(r) > width {
		cut := -1
		for i := width - 1; i > 0; i-- {
			if strings.ContainsRune(":/-._", r[i]) {
				cut = i + 1
				break
			}
		}
		if cut <= 0 {
			cut = width
		}
		out = append(out, string(r[:cut]))
		r = r[cut:]
	}
	return append(out, string(r))
}

// The graphviz instance: go-graphviz compiles its WASM module once, and neither the module nor
// a renderer is safe for concurrent use, so one instance is created lazily and every render runs
// under gvMu. Renders are short (milliseconds) and are never cancelled midway: cancelling the
// WASM call could leave the shared instance in an undefined state.
var (
	gvMu sync.Mutex
	gv   *graphviz.Graphviz
)

// SVGOption changes what TreeSVG writes.
type SVGOption func(*svgOptions)

type svgOptions struct {
	pageFonts bool
	goals     []string
}

// WithGoals draws only the sub-trees of these goals of the tree (the nodes reachable from them
// in the tree, and the notes on those nodes): a tree with many goals, such as the network
// scenario's 19, is then readable at the width of a screen. Ids that are not goals of the tree
// are ignored; when none is left the whole tree is drawn.
func WithGoals(ids ...string) SVGOption { return func(o *svgOptions) { o.goals = ids } }

// keepSet is the node ids WithGoals draws, or nil for the whole tree.
func keepSet(c *attacktrees.Catalog, t *attacktrees.Tree, goals []string) map[string]bool {
	var from []*attacktrees.Node
	for _, g := range c.Goals(t.ID) {
		if slices.Contains(goals, g.ID) {
			from = append(from, g)
		}
	}
	if len(from) == 0 {
		return nil
	}
	keep := map[string]bool{}
	for _, n := range c.Reachable(from...) {
		if n.Tree == t.ID {
			keep[n.ID] = true
		}
	}
	for _, n := range t.Nodes {
		if n.Kind == attacktrees.KindNote && len(n.Annotates) > 0 && keep[n.Annotates[0]] {
			keep[n.ID] = true
		}
	}
	return keep
}

// WithPageFonts leaves out the <style> that embeds the drawing's fonts (about 25 KB): for a page
// that shows the drawing inline and declares the fonts itself (FontFaceCSS with Fonts), such as
// one whose Content-Security-Policy forbids inline styles or data: fonts.
func WithPageFonts() SVGOption { return func(o *svgOptions) { o.pageFonts = true } }

// TreeSVG renders one tree as SVG (see TreeDOT for what is drawn): each node's box redrawn as
// the CNCF legend's shape (an element of class "shape"), and the fonts the layout measured
// embedded, so labels fit their shapes in any browser. Node ids are the SVG element ids of the
// nodes, and each node's <title> (its tooltip) gives its status, policies and open paths. The
// output is deterministic. ctx is checked before the render starts; a render that has started
// runs to completion.
func TreeSVG(ctx context.Context, c *attacktrees.Catalog, r *analyzer.Result, treeID string, opts ...SVGOption) ([]byte, error) {
	var o svgOptions
	for _, opt := range opts {
		opt(&o)
	}
	t, err := drawable(c, treeID)
	if err != nil {
		return nil, err
	}
	v := newView(r, c)
	svg, err := renderSVG(ctx, treeDOT(c, v, t, keepSet(c, t, o.goals)))
	if err != nil {
		return nil, fmt.Errorf("render tree %s: %w", treeID, err)
	}
	svg = drawShapes(setTooltips(svg, v, t), t, v)
	if !o.pageFonts {
		svg = embedFonts(svg)
	}
	return svg, nil
}

// embedFonts puts the font style first inside the <svg> element.
func embedFonts(svg []byte) []byte {
	i := bytes.Index(svg, []byte("<svg"))
	if i < 0 {
		return svg
	}
	j := bytes.IndexByte(svg[i:], '>')
	if j < 0 {
		return svg
	}
	at := i + j + 1
	out := make([]byte, 0, len(svg)+len(embeddedFontStyle)+1)
	out = append(out, svg[:at]...)
	out = append(out, '\n')
	out = append(out, strings.TrimSuffix(embeddedFontStyle, "\n")...)
	return append(out, svg[at:]...)
}

// renderSVG lays out and renders DOT text under gvMu. ctx is checked once the lock is held,
// before the render starts; the render itself runs with context.Background().
func renderSVG(ctx context.Context, dot []byte) ([]byte, error) {
	gvMu.Lock()
	defer gvMu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	bg := context.Background()
	if gv == nil {
		g, err := graphviz.New(bg)
		if err != nil {
			return nil, err
		}
		gv = g
	}
	graph, err := graphviz.ParseBytes(dot)
	if err != nil {
		return nil, err
	}
	defer graph.Close()
	var buf bytes.Buffer
	if err := gv.Render(bg, graph, graphviz.SVG, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var nodeTitle = regexp.MustCompile(`<g id="([^"]*)" class="node">\n<title>[^<]*</title>`)

// setTooltips replaces the <title> graphviz gives each node (its DOT name) with the tooltip.
func setTooltips(svg []byte, v *view, t *attacktrees.Tree) []byte {
	byID := map[string]*attacktrees.Node{}
	for _, n := range t.Nodes {
		byID[n.ID] = n
	}
	// One pass with submatch indexes: ReplaceAllFunc would match each title twice.
	out := make([]byte, 0, len(svg)+len(svg)/4)
	last := 0
	for _, m := range nodeTitle.FindAllSubmatchIndex(svg, -1) {
		id := svg[m[2]:m[3]]
		n, ok := byID[html.UnescapeString(string(id))]
		if !ok {
			continue
		}
		out = append(out, svg[last:m[0]]...)
		out = fmt.Appendf(out, "<g id=\"%s\" class=\"node\">\n<title>%s</title>", id, xmlText(v.tooltip(n)))
		last = m[1]
	}
	return append(out, svg[last:]...)
}

// xmlText escapes text for SVG character data; control characters other than line breaks are
// not allowed in XML and are dropped.
func xmlText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' {
			return r
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return html.EscapeString(s)
}
