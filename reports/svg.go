package reports

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"regexp"
	"strings"
	"sync"

	graphviz "github.com/goccy/go-graphviz"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
)

// statusStyle is how one status is drawn. Colour is never the only cue: each status has a glyph
// and a word in the label and its own line style, so the drawing reads in greyscale and for
// colour-blind readers. Colours are the Okabe-Ito palette.
type statusStyle struct {
	glyph, word  string
	color        string // outline and status text
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
	styleOpen      = statusStyle{"⚠", "OPEN", "#D55E00", "solid", "4", 1, "nothing blocks it"}
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

// Fills per node kind, after the CNCF legend.
const (
	fillGoal    = "#BDD7EE"
	fillStep    = "#FFFFFF"
	fillNote    = "#FFF2A8"
	fillSubtree = "#F4B183"
	colorEdge   = "#555555"
	colorHot    = "#D55E00"
)

// MaxDrawNodes is the largest tree TreeDOT and TreeSVG draw. Graphviz's layout grows faster
// than linearly (about 5 s for 2,000 densely linked nodes here); the CNCF trees have at most a
// few hundred nodes. A larger tree is refused with ErrTooLarge rather than left to run for
// minutes, which a hostile tree file could otherwise cause.
const MaxDrawNodes = 2000

// ErrTooLarge is returned for a tree of more than MaxDrawNodes nodes.
var ErrTooLarge = errors.New("tree too large to draw")

// TreeDOT returns the DOT text of one tree annotated with the statuses of r: gate shapes after
// the CNCF legend, a status glyph, word and line style per node, the blocking policies of each
// leaf, the edges of open paths drawn thick and dashed, a legend and a title with the tree's
// figures. r may be nil (no analysis): the tree is drawn without statuses. Every label is
// escaped. Deterministic: node and edge order follow the tree file.
func TreeDOT(c *attacktrees.Catalog, r *analyzer.Result, treeID string) ([]byte, error) {
	t, err := drawable(c, treeID)
	if err != nil {
		return nil, err
	}
	return treeDOT(c, newView(r, c), t), nil
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

func treeDOT(c *attacktrees.Catalog, v *view, t *attacktrees.Tree) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "digraph %s {\n", dotID(t.ID))
	fmt.Fprintf(&b, "  graph [id=%s, rankdir=TB, ordering=out, nodesep=0.25, ranksep=0.5, labelloc=t, fontname=\"Helvetica\", fontsize=16, label=<%s>];\n",
		dotID("tree:"+t.ID), v.titleLabel(t))
	b.WriteString("  node [fontname=\"Helvetica\", fontsize=11, margin=\"0.12,0.06\"];\n")
	fmt.Fprintf(&b, "  edge [color=%s, arrowsize=0.7];\n", dotID(colorEdge))
	for _, n := range t.Nodes {
		fmt.Fprintf(&b, "  %s [%s];\n", dotID(n.ID), v.nodeAttrs(n))
	}
	for _, n := range t.Nodes {
		if n.Kind == attacktrees.KindNote {
			for _, target := range n.Annotates {
				fmt.Fprintf(&b, "  %s -> %s [id=%s, style=dashed, arrowhead=none, color=%s];\n",
					dotID(n.ID), dotID(target), dotID("note:"+n.ID+"--"+target), dotID("#B8A200"))
			}
			continue
		}
		for _, ch := range c.Children(n) {
			if ch.Tree != t.ID {
				continue // a subtree's target in another tree: the label names it
			}
			attrs := "id=" + dotID(n.ID+"--"+ch.ID)
			if v.r != nil && v.openThrough(n.ID) && v.openThrough(ch.ID) {
				attrs += fmt.Sprintf(", color=%s, penwidth=2.5, style=dashed, class=\"open-path\"", dotID(colorHot))
			}
			fmt.Fprintf(&b, "  %s -> %s [%s];\n", dotID(n.ID), dotID(ch.ID), attrs)
		}
		for _, tg := range c.Targets(n) {
			if tg.Tree != t.ID {
				continue // another tree's goal or node: the label names it
			}
			// A box's sub-tree page in the same tree: drawn as a reference, not a connector.
			fmt.Fprintf(&b, "  %s -> %s [id=%s, style=dotted, arrowhead=empty];\n", dotID(n.ID), dotID(tg.ID), dotID(n.ID+"--target--"+tg.ID))
		}
	}
	fmt.Fprintf(&b, "  %s [id=%s, shape=plain, label=<%s>];\n", dotID("legend:"+t.ID), dotID("legend:"+t.ID), legendLabel())
	fmt.Fprintf(&b, "  { rank=sink; %s }\n", dotID("legend:"+t.ID))
	b.WriteString("}\n")
	return b.Bytes()
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

func (v *view) nodeAttrs(n *attacktrees.Node) string {
	var shape, fill, gate string
	style := []string{"filled"}
	switch n.Kind {
	case attacktrees.KindGoal:
		fill = fillGoal
		switch n.Gate {
		case attacktrees.GateAnd:
			shape, gate = "house", "AND"
			style = append(style, "rounded")
		case attacktrees.GateOr:
			shape, gate = "house", "OR"
		case attacktrees.GateAtLeast:
			shape, gate = "house", fmt.Sprintf("%d OF %d", n.K, len(n.Children))
		default:
			shape, gate = "box", ""
		}
		gate = strings.TrimSpace("GOAL " + gate)
	case attacktrees.KindAnd:
		shape, fill, gate = "house", fillStep, "AND"
		style = append(style, "rounded")
	case attacktrees.KindOr:
		shape, fill, gate = "house", fillStep, "OR"
	case attacktrees.KindAtLeast:
		shape, fill, gate = "house", fillStep, fmt.Sprintf("%d OF %d", n.K, len(n.Children))
	case attacktrees.KindNote:
		shape, fill = "note", fillNote
	case attacktrees.KindSubtree:
		shape, fill, gate = "box", fillSubtree, "SUBTREE"
		if len(n.Children) > 0 {
			gate = "SUBTREE AND ONE CHILD" // AND(target, OR(children)), docs/semantics.md
		}
	default:
		shape, fill = "box", fillStep
		style = append(style, "rounded")
	}
	st := styleNone
	nr, analysed := v.nodes[n.ID]
	if analysed && n.Kind != attacktrees.KindNote {
		st = styleOf(nr.Status, nr.Evidence)
		if nr.Status == analyzer.StatusBlocked && nr.Evidence == "" {
			st.word = "BLOCKED" // an inner node: blocked through its children
		}
	}
	if st.style != "solid" {
		style = append(style, st.style)
	}
	var label strings.Builder
	if gate != "" {
		label.WriteString("<FONT POINT-SIZE=\"9\"><B>" + htmlText(gate) + "</B></FONT><BR/>")
	}
	label.WriteString(wrapHTML(n.Label, 26))
	if n.Ref != "" {
		label.WriteString(" [" + htmlText(n.Ref) + "]")
	}
	if n.TBC {
		label.WriteString(" (TBC)")
	}
	if n.Kind == attacktrees.KindSubtree {
		label.WriteString("<BR/><FONT POINT-SIZE=\"9\">→ " + htmlText(v.subtreeTarget(n)) + "</FONT>")
	}
	if st.word != "" {
		label.WriteString(fmt.Sprintf("<BR/><FONT COLOR=\"%s\"><B>%s %s</B></FONT>", darker(st.color), st.glyph, htmlText(st.word)))
	}
	if analysed {
		if len(nr.Policies) > 0 {
			label.WriteString("<BR/><FONT POINT-SIZE=\"9\">" + wrapHTML(listCapped("policy: ", "policies: ", nr.Policies), 34) + "</FONT>")
		}
		if s, ok := v.steps[n.ID]; ok {
			if nr.Status == analyzer.StatusMonitored && len(s.Monitoring) > 0 {
				label.WriteString("<BR/><FONT POINT-SIZE=\"9\">" + wrapHTML(listCapped("monitored by: ", "monitored by: ", s.Monitoring), 34) + "</FONT>")
			}
			if nr.Status == analyzer.StatusBypassed && len(s.Admitted) > 0 {
				label.WriteString("<BR/><FONT POINT-SIZE=\"9\">" + wrapHTML(listCapped("admits: ", "admits: ", s.Admitted), 34) + "</FONT>")
			}
		}
	}
	attrs := []string{
		"id=" + dotID(n.ID),
		"shape=" + shape,
		"style=" + dotID(strings.Join(style, ",")),
		"fillcolor=" + dotID(fill),
		"color=" + dotID(st.color),
		"penwidth=" + st.penwidth,
		"label=<" + label.String() + ">",
	}
	if st.peripheries > 1 {
		attrs = append(attrs, fmt.Sprintf("peripheries=%d", st.peripheries))
	}
	return strings.Join(attrs, ", ")
}

func (v *view) subtreeTarget(n *attacktrees.Node) string {
	if tn, ok := v.c.Node(n.Target); ok && tn.Tree != n.Tree {
		if t, ok := v.c.Tree(tn.Tree); ok {
			return "tree " + t.Title
		}
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

func legendLabel() string {
	var b strings.Builder
	b.WriteString(`<TABLE BORDER="1" COLOR="#999999" CELLBORDER="0" CELLSPACING="4" CELLPADDING="3">`)
	b.WriteString(`<TR><TD COLSPAN="2"><B>Legend</B></TD></TR>`)
	for _, st := range []statusStyle{styleVerified, styleDeclared, styleMonitored, styleBypassed, styleAttested, styleOpen, styleOutScope} {
		cellStyle := ""
		if st.style != "solid" {
			cellStyle = ` STYLE="` + st.style + `"`
		}
		fmt.Fprintf(&b, `<TR><TD BORDER="2" COLOR="%s"%s><FONT COLOR="%s"><B>%s %s</B></FONT></TD><TD ALIGN="LEFT"><FONT POINT-SIZE="9">%s</FONT></TD></TR>`,
			st.color, cellStyle, darker(st.color), st.glyph, htmlText(st.word), htmlText(st.legendDetail))
	}
	kinds := []struct{ fill, name, detail string }{
		{fillGoal, "GOAL", "blue; dome = AND, arch = OR"},
		{fillStep, "AND / OR gate", "dome (rounded) = AND, pointed arch = OR"},
		{fillStep, "step", "white rounded box"},
		{fillNote, "note", "yellow"},
		{fillSubtree, "SUBTREE", "salmon: another tree"},
	}
	for _, k := range kinds {
		fmt.Fprintf(&b, `<TR><TD BORDER="1" COLOR="#555555" BGCOLOR="%s">%s</TD><TD ALIGN="LEFT"><FONT POINT-SIZE="9">%s</FONT></TD></TR>`,
			k.fill, htmlText(k.name), htmlText(k.detail))
	}
	fmt.Fprintf(&b, `<TR><TD BORDER="2" COLOR="%s" STYLE="dashed"><FONT COLOR="%s"><B>- - → thick dashed</B></FONT></TD><TD ALIGN="LEFT"><FONT POINT-SIZE="9">edge on an open path</FONT></TD></TR>`, colorHot, darker(colorHot))
	fmt.Fprintf(&b, `<TR><TD>policy: p</TD><TD ALIGN="LEFT"><FONT POINT-SIZE="9">enforcing policies mapped to the step</FONT></TD></TR>`)
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
	words := strings.Fields(oneLine(s))
	var lines []string
	line := ""
	for _, w := range words {
		if line != "" && len([]rune(line))+1+len([]rune(w)) > width {
			lines = append(lines, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	for i, l := range lines {
		lines[i] = htmlText(l)
	}
	return strings.Join(lines, "<BR/>")
}

// The graphviz instance: go-graphviz compiles its WASM module once, and neither the module nor
// a renderer is safe for concurrent use, so one instance is created lazily and every render runs
// under gvMu. Renders are short (milliseconds) and are never cancelled midway: cancelling the
// WASM call could leave the shared instance in an undefined state.
var (
	gvMu sync.Mutex
	gv   *graphviz.Graphviz
)

// TreeSVG renders one tree as SVG (see TreeDOT for what is drawn). Node ids are the SVG element
// ids of the nodes, and each node's <title> (its tooltip) gives its status, policies and open
// paths. The output is deterministic. ctx is checked before the render starts; a render that
// has started runs to completion.
func TreeSVG(ctx context.Context, c *attacktrees.Catalog, r *analyzer.Result, treeID string) ([]byte, error) {
	t, err := drawable(c, treeID)
	if err != nil {
		return nil, err
	}
	v := newView(r, c)
	svg, err := renderSVG(ctx, treeDOT(c, v, t))
	if err != nil {
		return nil, fmt.Errorf("render tree %s: %w", treeID, err)
	}
	return setTooltips(svg, v, t), nil
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
