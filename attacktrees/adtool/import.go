package adtool

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/threatcov/threatcov/attacktrees"
)

// MaxSize is the largest file Import reads (bytes); larger input is refused, not truncated.
const MaxSize = 64 << 20

// elem is one XML element with the line its start tag ends on.
type elem struct {
	name  string
	attrs []xml.Attr
	kids  []*elem
	text  strings.Builder
	line  int
}

func (e *elem) attr(name string) string {
	for _, a := range e.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func fileErr(file string, line int, node, format string, args ...any) *attacktrees.Error {
	return &attacktrees.Error{File: file, Line: line, Node: node, Msg: fmt.Sprintf(format, args...)}
}

// readXML parses r into elements without recursion (ADTool nests a tree as deep as it is),
// refusing DTDs and entity declarations: nothing is expanded.
func readXML(r io.Reader, file string) (*elem, error) {
	lr := &io.LimitedReader{R: r, N: MaxSize + 1}
	d := xml.NewDecoder(lr)
	d.Strict = true
	var root *elem
	var stack []*elem
	tooBig := func() error {
		return fileErr(file, 0, "", "file is larger than %d MiB: split the tree or raise adtool.MaxSize", MaxSize>>20)
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if lr.N <= 0 {
				return nil, tooBig()
			}
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fileErr(file, se.Line, "", "not well-formed XML: %s", se.Msg)
			}
			return nil, fileErr(file, 0, "", "read: %v", err)
		}
		line, _ := d.InputPos()
		switch t := tok.(type) {
		case xml.StartElement:
			e := &elem{name: t.Name.Local, attrs: t.Attr, line: line}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, e)
			} else if root != nil {
				return nil, fileErr(file, line, "", "more than one root element")
			} else {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.Directive:
			return nil, fileErr(file, line, "", "DTD or entity declaration refused: remove the <!...> directive (threatcov does not expand XML entities)")
		}
	}
	if lr.N <= 0 {
		return nil, tooBig()
	}
	if root == nil {
		return nil, fileErr(file, 0, "", "no XML element: expected an <adtree> document")
	}
	return root, nil
}

// Import reads one ADTool attack(-defence) tree (file names it in errors and gives the tree its
// id). The root node is the goal; a node with attack children is an OR (refinement
// "disjunctive"), an AND ("conjunctive", or "sequential": the order of steps does not change
// which steps a path needs) of them; a node without is a step. Countermeasures (switchRole="yes")
// are not part of attack paths, which policies close in threatcov: each becomes a note on the
// node it defends, and what refines it is dropped (the note says how many nodes). Every error
// is an *attacktrees.Error naming the file and line.
func Import(r io.Reader, file string) (*attacktrees.Tree, error) {
	root, err := readXML(r, file)
	if err != nil {
		return nil, err
	}
	if root.name != "adtree" {
		return nil, fileErr(file, root.line, "", "root element is <%s>: an ADTool file starts with <adtree>", root.name)
	}
	var top *elem
	for _, k := range root.kids {
		switch k.name {
		case "node":
			if top != nil {
				return nil, fileErr(file, k.line, "", "<adtree> has a second root <node> (the first is at line %d): an ADTool tree has one root", top.line)
			}
			top = k
		case "domain":
			// Attribute domains (cost, probability): attack paths do not use them.
		default:
			return nil, fileErr(file, k.line, "", "unknown element <%s> in <adtree>: expected <node> and <domain>", k.name)
		}
	}
	if top == nil {
		return nil, fileErr(file, root.line, "", "<adtree> has no <node>: nothing to import")
	}
	if top.attr("switchRole") == "yes" {
		return nil, fileErr(file, top.line, "", "the root node is a countermeasure (switchRole=\"yes\"): threatcov imports trees whose root is the attacker's goal")
	}

	t := &attacktrees.Tree{ID: treeID(file), File: file, Line: 1, Source: "ADTool"}
	if file != "" {
		t.Source += ": " + filepath.Base(file)
	}
	used := newIDSet()
	type item struct {
		e      *elem
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
		if e.attr("switchRole") == "yes" {
			note := &attacktrees.Node{
				ID:        used.unique(t.ID + "-" + sanitize("countermeasure "+label)),
				Kind:      attacktrees.KindNote,
				Label:     "Countermeasure: " + label,
				Annotates: []string{it.parent.ID},
				Line:      e.line,
				Tree:      t.ID,
			}
			if n := countNodes(e) - 1; n > 0 {
				note.Label += fmt.Sprintf(" (refined into %d more nodes in ADTool, not imported)", n)
			}
			t.Nodes = append(t.Nodes, note)
			continue
		}
		n := &attacktrees.Node{ID: used.unique(t.ID + "-" + sanitize(label)), Label: label, Line: e.line, Tree: t.ID}
		if it.parent != nil {
			it.parent.Children = append(it.parent.Children, n.ID)
		}
		t.Nodes = append(t.Nodes, n)
		var kids []*elem
		attacks := 0
		for _, k := range e.kids {
			switch k.name {
			case "node":
				kids = append(kids, k)
				if k.attr("switchRole") != "yes" {
					attacks++
				}
			case "label", "parameter", "comment":
			default:
				return nil, fileErr(file, k.line, n.ID, "unknown element <%s> in <node>: expected <label>, <node> and <parameter>", k.name)
			}
		}
		gate := attacktrees.GateOr
		switch r := e.attr("refinement"); r {
		case "", "disjunctive":
		case "conjunctive", "sequential":
			gate = attacktrees.GateAnd
		default:
			return nil, fileErr(file, e.line, n.ID, "unknown refinement %q: use disjunctive, conjunctive or sequential", r)
		}
		switch {
		case it.parent == nil:
			n.Kind, n.Gate = attacktrees.KindGoal, gate
			t.Title = label
			if attacks == 0 {
				return nil, fileErr(file, e.line, n.ID, "the root node has no attack children: an attack tree needs at least one step under its goal")
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

func nodeLabel(e *elem, file string) (string, error) {
	for _, k := range e.kids {
		if k.name == "label" {
			if l := strings.Join(strings.Fields(k.text.String()), " "); l != "" {
				return l, nil
			}
		}
	}
	return "", fileErr(file, e.line, "", "<node> has no label: add <label>what the attacker does</label>")
}

// countNodes counts e and the <node> elements below it, without recursion.
func countNodes(e *elem) int {
	n := 0
	stack := []*elem{e}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		for _, k := range x.kids {
			if k.name == "node" {
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
	return sanitize(strings.TrimSuffix(base, filepath.Ext(base)))
}

// sanitize maps a label to [a-z0-9-]: lower case, every run of other characters one '-', no
// '-' at either end, at most 60 characters ("n" if nothing is left).
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if b.Len() >= 60 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if b.Len() > 0 && !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if out == "" {
		return "n"
	}
	return out
}

// idSet hands out unique ids: id, or id-2, id-3, ... the first not yet used. It remembers the
// next suffix per base id, so a thousand nodes of one name cost linear time, not quadratic.
type idSet struct {
	used map[string]bool
	next map[string]int
}

func newIDSet() *idSet { return &idSet{used: map[string]bool{}, next: map[string]int{}} }

func (s *idSet) unique(id string) string {
	out := id
	if s.used[out] {
		i := max(s.next[id], 2)
		for s.used[id+"-"+strconv.Itoa(i)] {
			i++
		}
		out = id + "-" + strconv.Itoa(i)
		s.next[id] = i + 1
	}
	s.used[out] = true
	return out
}
