package reports

import (
	"fmt"
	"io"
	"strings"

	"github.com/threatcov/threatcov/attacktrees"
)

// TreeText writes a tree as an indented text outline, gates marked, for reading side by side
// with the source diagram. A node with several parents is drawn in full the first time and
// referred to afterwards; a subtree box names its target instead of repeating it, and then
// lists its own children (it needs its target and one of them, docs/semantics.md).
// O(nodes + edges) of the tree.
func TreeText(w io.Writer, c *attacktrees.Catalog, t *attacktrees.Tree) error {
	p := &outline{w: w, c: c, shown: map[string]bool{}}
	p.printf("%s: %s\n", t.ID, t.Title)
	if t.Source != "" {
		p.printf("source: %s\n", t.Source)
	}
	for _, g := range c.Goals(t.ID) {
		p.printf("\n")
		p.node(g, "", "", true)
	}
	// The root of a sub-tree page is no goal: it follows, reached through its box.
	for _, n := range t.Nodes {
		if p.shown[n.ID] || n.Kind != attacktrees.KindGoal {
			continue
		}
		var boxes []string
		for _, par := range c.Parents(n) {
			if par.Kind == attacktrees.KindSubtree {
				boxes = append(boxes, par.ID)
			}
		}
		p.printf("\nsub-tree page of %s:\n", strings.Join(boxes, ", "))
		p.node(n, "", "", true)
	}
	return p.err
}

type outline struct {
	w     io.Writer
	c     *attacktrees.Catalog
	shown map[string]bool
	err   error
}

func (p *outline) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *outline) node(n *attacktrees.Node, prefix, branch string, last bool) {
	text := fmt.Sprintf("%s %s", marker(p.c, n), n.Label)
	if n.Ref != "" {
		text += " [" + n.Ref + "]"
	}
	if n.TBC {
		text += " (TBC)"
	}
	text += "  (" + n.ID + ")"
	children := p.c.Children(n)
	if p.shown[n.ID] && len(children) > 0 {
		p.printf("%s%s^ %s: shown above\n", prefix, branch, text)
		return
	}
	p.shown[n.ID] = true
	if n.Kind == attacktrees.KindSubtree {
		text += " -> " + n.Target
		if len(children) > 0 {
			text += ", AND one of:"
		}
	}
	p.printf("%s%s%s\n", prefix, branch, text)
	childPrefix := prefix
	switch {
	case branch == "":
	case last:
		childPrefix += "    "
	default:
		childPrefix += "|   "
	}
	for _, note := range p.c.Notes(n) {
		bar := "|"
		if len(children) == 0 {
			bar = " "
		}
		p.printf("%s%s  note: %s\n", childPrefix, bar, note.Label)
	}
	for i, ch := range children {
		lastChild := i == len(children)-1
		b := "+-- "
		if lastChild {
			b = "`-- "
		}
		p.node(ch, childPrefix, b, lastChild)
	}
}

func marker(c *attacktrees.Catalog, n *attacktrees.Node) string {
	switch n.Kind {
	case attacktrees.KindGoal:
		if n.Gate == attacktrees.GateAtLeast {
			return fmt.Sprintf("[GOAL %d-OF-%d]", n.K, len(n.Children))
		}
		return "[GOAL " + strings.ToUpper(string(n.Gate)) + "]"
	case attacktrees.KindAtLeast:
		return fmt.Sprintf("[%d-OF-%d]", n.K, len(n.Children))
	case attacktrees.KindAnd, attacktrees.KindOr:
		return "[" + strings.ToUpper(string(n.Kind)) + "]"
	case attacktrees.KindSubtree:
		return "[SUBTREE]"
	}
	if c.IsLeaf(n) {
		return "[LEAF]"
	}
	return "[STEP]"
}

// TreeDoc is the JSON form of one tree (`threatcov trees show -o json`), documented in
// docs/attack-trees.md. Field order and node order are fixed, so output is stable.
type TreeDoc struct {
	ID     string        `json:"id"`
	Title  string        `json:"title"`
	Source string        `json:"source,omitempty"`
	Goals  []string      `json:"goals"`
	Nodes  []TreeNodeDoc `json:"nodes"`
}

// TreeNodeDoc is one node of a TreeDoc.
type TreeNodeDoc struct {
	*attacktrees.Node
	Leaf    bool     `json:"leaf"`
	Parents []string `json:"parents,omitempty"`
}

// NewTreeDoc builds the JSON form of a tree.
func NewTreeDoc(c *attacktrees.Catalog, t *attacktrees.Tree) TreeDoc {
	d := TreeDoc{ID: t.ID, Title: t.Title, Source: t.Source, Goals: []string{}}
	for _, g := range c.Goals(t.ID) {
		d.Goals = append(d.Goals, g.ID)
	}
	for _, n := range t.Nodes {
		nd := TreeNodeDoc{Node: n, Leaf: c.IsLeaf(n)}
		for _, p := range c.Parents(n) {
			nd.Parents = append(nd.Parents, p.ID)
		}
		d.Nodes = append(d.Nodes, nd)
	}
	return d
}

// TreeJSON writes a tree as indented JSON.
func TreeJSON(w io.Writer, c *attacktrees.Catalog, t *attacktrees.Tree) error {
	return WriteJSON(w, NewTreeDoc(c, t))
}
