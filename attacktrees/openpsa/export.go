package openpsa

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/xmltree"
)

// mefName is the MEF identifier pattern (no '.', no leading, trailing or doubled '-') for the
// names threatcov ids keep as they are; other ids are escaped (see name).
var mefName = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// Export writes every top-level goal of a catalog as Open-PSA MEF, one <define-fault-tree> per
// goal (named by the goal's id, its top gate too), so an independent fault-tree tool such as
// SCRAM can recount the minimal attack paths. It writes the catalog's expansion
// (attacktrees.Catalog.Expansion), the model threatcov counts: subtree boxes as AND(target,
// OR(children)), reference cycles unfolded per entry context. Goals are in tree order, then
// file order; each fault tree holds its own copy of every gate below its goal, so that every goal
// is a top gate; attack steps are basic events defined once in <model-data>. Names are node ids
// (a gate below a goal: "<goal>_<node>", and "_<n>" after it for a copy made for one entry
// context or a part of a box), made MEF identifiers and unique; labels carry the node's label and
// id. Gates are written depth first from the goal, children left to right.
//
// The MEF written avoids what fault-tree tools refuse: a gate with one argument is a bare
// reference, a repeated argument of and (a box whose target is also its only child) is written
// once, and atleast with min 1 or min equal to its arguments is or and and. (A k-of-n gate never
// has a repeated argument: a node lists each child once, and distinct children stay distinct.) Cost: linear in the expansion below each goal, summed over goals.
func Export(w io.Writer, c *attacktrees.Catalog) error {
	exp := c.Expansion()
	x := &exporter{exp: exp, own: len(c.Nodes()), names: xmltree.NewIDSet(), leafName: map[int]string{}, b: bufio.NewWriter(w)}
	// Leaves first: their names are node ids wherever they occur.
	var goals []*attacktrees.Node
	for _, t := range c.Trees() {
		goals = append(goals, c.Goals(t.ID)...)
	}
	var leaves []int
	for _, n := range c.Reachable(goals...) {
		if c.IsLeaf(n) {
			i := int(n.GraphID())
			x.leafName[i] = x.names.Unique(name(n.ID))
			leaves = append(leaves, i)
		}
	}
	x.printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	x.printf("<!-- threatcov trees export: one fault tree per top-level goal; attack steps are basic events.\n")
	x.printf("     Subtree boxes are AND(target, OR(children)); reference cycles are unfolded so that a path\n")
	x.printf("     never runs back through a box it came through (docs/semantics.md). -->\n")
	x.printf("<opsa-mef>\n")
	for _, g := range goals {
		x.faultTree(g)
	}
	x.printf("  <model-data>\n")
	for _, i := range leaves {
		n := exp[i].Node
		x.printf("    <define-basic-event name=\"%s\">\n      <label>%s</label>\n    </define-basic-event>\n", x.leafName[i], text(n.Label+" ("+n.ID+")"))
	}
	x.printf("  </model-data>\n</opsa-mef>\n")
	if x.err != nil {
		return x.err
	}
	return x.b.Flush()
}

type exporter struct {
	exp      []attacktrees.Expanded
	own      int // entries below this index are the catalog's own nodes; later ones copies and parts
	names    *xmltree.IDSet
	leafName map[int]string
	b        *bufio.Writer
	err      error
}

func (x *exporter) printf(format string, args ...any) {
	if x.err == nil {
		_, x.err = fmt.Fprintf(x.b, format, args...)
	}
}

// faultTree writes one goal's fault tree: its gates depth first from the goal.
func (x *exporter) faultTree(g *attacktrees.Node) {
	top := int(g.GraphID())
	gate := map[int]string{top: x.names.Unique(name(g.ID))}
	prefix := gate[top] + "_"
	x.printf("  <define-fault-tree name=\"%s\">\n    <label>%s</label>\n", gate[top], text(g.Label+" (goal of tree "+g.Tree+")"))
	ref := func(i int) string {
		if x.exp[i].Gate == "" {
			return fmt.Sprintf("<basic-event name=\"%s\"/>", x.leafName[i])
		}
		if _, ok := gate[i]; !ok {
			n := prefix + name(x.exp[i].Node.ID)
			if i >= x.own {
				n += "_" + strconv.Itoa(i) // a copy for one entry context, or a part of a box
			}
			gate[i] = x.names.Unique(n)
		}
		return fmt.Sprintf("<gate name=\"%s\"/>", gate[i])
	}
	stack := []int{top}
	written := map[int]bool{}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if written[i] {
			continue
		}
		written[i] = true
		e := x.exp[i]
		var args []string
		seen := map[string]bool{}
		for _, ch := range e.Children {
			r := ref(ch)
			if seen[r] {
				continue
			}
			seen[r] = true
			args = append(args, r)
		}
		for j := len(e.Children) - 1; j >= 0; j-- {
			// Pushed right to left, so the gates are written depth first, left to right.
			if ch := e.Children[j]; x.exp[ch].Gate != "" && !written[ch] {
				stack = append(stack, ch)
			}
		}
		op := string(e.Gate)
		switch {
		case e.Gate == attacktrees.GateAtLeast && e.K == len(args):
			op = "and"
		case e.Gate == attacktrees.GateAtLeast && e.K == 1:
			op = "or"
		}
		x.printf("    <define-gate name=\"%s\">\n      <label>%s</label>\n      ", gate[i], text(e.Node.Label+" ("+e.Node.ID+")"))
		switch {
		case len(args) == 1:
			x.printf("%s", args[0])
		case op == "atleast":
			x.printf("<atleast min=\"%d\">%s</atleast>", e.K, strings.Join(args, ""))
		default:
			x.printf("<%s>%s</%s>", op, strings.Join(args, ""), op)
		}
		x.printf("\n    </define-gate>\n")
	}
	x.printf("  </define-fault-tree>\n")
}

// name makes a node id a MEF identifier: as it is when it already is one (every CNCF id is),
// else "x_" and the id with '-' as '_' (ids hold no '_', so escaped names never meet plain ones).
func name(id string) string {
	if mefName.MatchString(id) {
		return id
	}
	return "x_" + strings.ReplaceAll(id, "-", "_")
}

func text(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
