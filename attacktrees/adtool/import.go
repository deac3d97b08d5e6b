package adtool

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/xmltree"
)

// MaxSize is the largest file Import reads (bytes); larger input is refused, not truncated.
const MaxSize = 64 << 20

// Import reads one ADTool attack(-defence) tree (file names it in errors and gives the tree its
// id). The root node is the goal; a node with attack children is an OR (refinement
// "disjunctive"), an AND ("conjunctive", or "sequential": the order of steps does not change
// which steps a path needs) of them; a node without is a step. Countermeasures (switchRole="yes")
// are not part of attack paths, which policies close in threatcov: each becomes a note on the
// node it defends, and what refines it is dropped (the note says how many nodes). Every error
// is an *attacktrees.Error naming the file and line.
func Import(r io.Reader, file string) (*attacktrees.Tree, error) {
	root, err := xmltree.Read(r, file, xmltree.Limits{MaxSize: MaxSize, Root: "<adtree>", SizeHint: "split the tree or raise adtool.MaxSize"})
	if err != nil {
		return nil, err
	}
	if root.Name != "adtree" {
		return nil, xmltree.Errorf(file, root.Line, "", "root element is <%s>: an ADTool file starts with <adtree>", root.Name)
	}
	var top *xmltree.Elem
	for _, k := range root.Kids {
		switch k.Name {
		case "node":
			if top != nil {
				return nil, xmltree.Errorf(file, k.Line, "", "<adtree> has a second root <node> (the first is at line %d): an ADTool tree has one root", top.Line)
			}
			top = k
		case "domain":
			// Attribute domains (cost, probability): attack paths do not use them.
		default:
			return nil, xmltree.Errorf(file, k.Line, "", "unknown element <%s> in <adtree>: expected <node> and <domain>", k.Name)
		}
	}
	if top == nil {
		return nil, xmltree.Errorf(file, root.Line, "", "<adtree> has no <node>: nothing to import")
	}
	if attr(top, "switchRole") == "yes" {
		return nil, xmltree.Errorf(file, top.Line, "", "the root node is a countermeasure (switchRole=\"yes\"): threatcov imports trees whose root is the attacker's goal")
	}

	t := &attacktrees.Tree{ID: treeID(file), File: file, Line: 1, Source: "ADTool"}
	if file != "" {
		t.Source += ": " + filepath.Base(file)
	}
	used := xmltree.NewIDSet()
	type item struct {
		e      *xmltree.Elem
		parent *attacktrees.Node
	}
	// Depth-first, children left to right, with an explicit stack: the tree may be very deep.
	stack := []item{{e: top}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		e := it.e
		label, err := nodeLabel(e, file)
		if err != nil {
			return nil, err
		}
		if attr(e, "switchRole") == "yes" {
			note := &attacktrees.Node{
				ID:        used.Unique(t.ID + "-" + xmltree.ID("countermeasure "+label, 60)),
				Kind:      attacktrees.KindNote,
				Label:     "Countermeasure: " + label,
				Annotates: []string{it.parent.ID},
				Line:      e.Line,
				Tree:      t.ID,
			}
			if n := countNodes(e) - 1; n > 0 {
				note.Label += fmt.Sprintf(" (refined into %d more nodes in ADTool, not imported)", n)
			}
			t.Nodes = append(t.Nodes, note)
			continue
		}
		n := &attacktrees.Node{ID: used.Unique(t.ID + "-" + xmltree.ID(label, 60)), Label: label, Line: e.Line, Tree: t.ID}
		if it.parent != nil {
			it.parent.Children = append(it.parent.Children, n.ID)
		}
		t.Nodes = append(t.Nodes, n)
		var kids []*xmltree.Elem
		attacks := 0
		for _, k := range e.Kids {
			switch k.Name {
			case "node":
				kids = append(kids, k)
				if attr(k, "switchRole") != "yes" {
					attacks++
				}
			case "label", "parameter", "comment":
			default:
				return nil, xmltree.Errorf(file, k.Line, n.ID, "unknown element <%s> in <node>: expected <label>, <node> and <parameter>", k.Name)
			}
		}
		gate := attacktrees.GateOr
		switch r := attr(e, "refinement"); r {
		case "", "disjunctive":
		case "conjunctive", "sequential":
			gate = attacktrees.GateAnd
		default:
			return nil, xmltree.Errorf(file, e.Line, n.ID, "unknown refinement %q: use disjunctive, conjunctive or sequential", r)
		}
		switch {
		case it.parent == nil:
			n.Kind, n.Gate = attacktrees.KindGoal, gate
			t.Title = label
			if attacks == 0 {
				return nil, xmltree.Errorf(file, e.Line, n.ID, "the root node has no attack children: an attack tree needs at least one step under its goal")
			}
		case attacks == 0:
			n.Kind = attacktrees.KindStep
		default:
			n.Kind = attacktrees.Kind(gate)
		}
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, item{e: kids[i], parent: n})
		}
	}
	return t, nil
}

func nodeLabel(e *xmltree.Elem, file string) (string, error) {
	for _, k := range e.Kids {
		if k.Name == "label" {
			if l := strings.Join(strings.Fields(k.Text.String()), " "); l != "" {
				return l, nil
			}
		}
	}
	return "", xmltree.Errorf(file, e.Line, "", "<node> has no label: add <label>what the attacker does</label>")
}

// countNodes counts e and the <node> elements below it, without recursion.
func countNodes(e *xmltree.Elem) int {
	n := 0
	stack := []*xmltree.Elem{e}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		for _, k := range x.Kids {
			if k.Name == "node" {
				stack = append(stack, k)
			}
		}
	}
	return n
}

func treeID(file string) string {
	base := filepath.Base(file)
	if file == "" || file == "-" || base == "." {
		return "adtool-tree"
	}
	return xmltree.ID(strings.TrimSuffix(base, filepath.Ext(base)), 60)
}

// attr returns an attribute's value, "" when absent (ADTool's attributes are all optional).
func attr(e *xmltree.Elem, name string) string {
	v, _ := e.Attr(name)
	return v
}
