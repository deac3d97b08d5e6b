package openpsa

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/xmltree"
)

// inode is one node of the imported model before ids are assigned.
type inode struct {
	name  string // original name (gates, basic events) or "<gate>, argument N" (nested formulas)
	label string // the MEF <label>, collapsed
	op    string // "and", "or", "atleast", or "" for a basic event
	k     int
	kids  []*inode
	line  int
	gate  bool // defined with define-gate (can be a goal)
	def   *elem
}

type importer struct {
	file    string
	gates   map[string]*inode
	order   []*inode // gates in definition order
	events  map[string]*inode
	defined map[string]int // basic events defined with define-basic-event: line
	houses  map[string]int
	titles  []string
}

// Import reads one Open-PSA MEF file (file names it in errors and gives the tree its id) and
// returns its fault trees as one attack tree: each top gate (a gate no other gate references)
// is a goal, inner gates and nested formulas are and/or/atleast nodes, basic events are steps.
// Nodes are listed depth first from the goals. Every error is an *attacktrees.Error naming the
// file, the line and the gate.
func Import(r io.Reader, file string) (*attacktrees.Tree, error) {
	root, err := xmltree.Read(r, file, limits)
	if err != nil {
		return nil, err
	}
	if root.Name != "opsa-mef" {
		return nil, fileErr(file, root.Line, "", "root element is <%s>: an Open-PSA MEF file starts with <opsa-mef>", root.Name)
	}
	im := &importer{
		file:    file,
		gates:   map[string]*inode{},
		events:  map[string]*inode{},
		defined: map[string]int{},
		houses:  map[string]int{},
	}
	if err := im.container(root, "opsa-mef"); err != nil {
		return nil, err
	}
	if len(im.order) == 0 {
		return nil, fileErr(file, root.Line, "", "no gate defined: threatcov imports fault trees (<define-fault-tree> with <define-gate>)")
	}
	for _, g := range im.order {
		if err := im.parseGate(g); err != nil {
			return nil, err
		}
	}
	if err := im.checkCycles(); err != nil {
		return nil, err
	}
	return im.tree(), nil
}

// container reads the definitions of the document, a fault tree, a component or model data.
func (im *importer) container(c *elem, where string) error {
	for _, e := range c.Kids {
		if err := im.definition(c, e, where); err != nil {
			return err
		}
	}
	return nil
}

// definition reads one element of container c (where is c's element name).
func (im *importer) definition(c, e *elem, where string) error {
	name, _ := e.Attr("name")
	if role, _ := e.Attr("role"); role == "private" {
		return fileErr(im.file, e.Line, name, "private role is not supported (names would need scoped paths): make the %s public", e.Name)
	}
	switch e.Name {
	case "define-fault-tree", "define-component", "model-data":
		return im.nested(c, e, name, where)
	case "define-gate":
		if where == "opsa-mef" || where == "model-data" {
			return fileErr(im.file, e.Line, name, "<define-gate> inside <%s>: gates belong to a <define-fault-tree>", c.Name)
		}
		return im.defineGate(e, name)
	case "define-basic-event":
		if name == "" {
			return fileErr(im.file, e.Line, "", "<define-basic-event> has no name attribute")
		}
		if prev, ok := im.defined[name]; ok {
			return fileErr(im.file, e.Line, name, "basic event defined twice (first at line %d): rename one", prev)
		}
		im.defined[name] = e.Line
		ev := im.event(name, e.Line)
		ev.line = e.Line
		ev.label = labelOf(e)
	case "define-house-event":
		// Harmless unless a gate uses it; parseGate refuses the reference.
		im.houses[name] = e.Line
	case "define-parameter", "label", "attributes":
		// Probabilities and annotations: attack paths do not use them.
	default:
		return im.unsupported(c, e, name)
	}
	return nil
}

// nested reads a container inside container c: a fault tree or model data at the top level,
// a component inside a fault tree or component.
func (im *importer) nested(c, e *elem, name, where string) error {
	switch e.Name {
	case "define-fault-tree":
		if where != "opsa-mef" {
			return fileErr(im.file, e.Line, name, "<define-fault-tree> inside <%s>: fault trees are defined at the top level", c.Name)
		}
		title := name
		if l := labelOf(e); l != "" {
			title = l
		}
		im.titles = append(im.titles, title)
	case "define-component":
		if where == "opsa-mef" || where == "model-data" {
			return fileErr(im.file, e.Line, name, "<define-component> inside <%s>: components belong to a fault tree", c.Name)
		}
	case "model-data":
		if where != "opsa-mef" {
			return fileErr(im.file, e.Line, "", "<model-data> inside <%s>: model data is defined at the top level", c.Name)
		}
	}
	return im.container(e, e.Name)
}

// unsupported is the error for an element of container c that threatcov does not import,
// saying what to do where there is something to do.
func (im *importer) unsupported(c, e *elem, name string) error {
	switch e.Name {
	case "define-CCF-group":
		return fileErr(im.file, e.Line, name, "common-cause failure groups are not supported (they replace their members by CCF events): expand the group into gates and basic events")
	case "define-substitution":
		return fileErr(im.file, e.Line, name, "substitutions are not supported: apply the substitution to the fault tree first")
	case "define-event-tree", "define-initiating-event", "define-rule", "define-alignment",
		"define-sequence", "define-functional-event", "define-branch":
		return fileErr(im.file, e.Line, name, "<%s>: event trees are not supported, threatcov imports fault trees only: move the fault trees to a file of their own", e.Name)
	case "define-extern-library", "define-extern-function":
		return fileErr(im.file, e.Line, name, "<%s>: external functions are not supported", e.Name)
	default:
		return fileErr(im.file, e.Line, name, "unknown element <%s> inside <%s>", e.Name, c.Name)
	}
}

func labelOf(e *elem) string {
	for _, k := range e.Kids {
		if k.Name == "label" {
			return collapse(k.Text.String())
		}
	}
	return ""
}

func (im *importer) defineGate(e *elem, name string) error {
	if name == "" {
		return fileErr(im.file, e.Line, "", "<define-gate> has no name attribute")
	}
	if prev, ok := im.gates[name]; ok {
		return fileErr(im.file, e.Line, name, "gate defined twice (first at line %d): rename one", prev.line)
	}
	g := &inode{name: name, label: labelOf(e), line: e.Line, gate: true, def: e}
	im.gates[name] = g
	im.order = append(im.order, g)
	return nil
}

// event returns the basic event called name, creating it on first use. A basic event need not
// be defined: definitions carry only probabilities, and models often keep them in another file.
func (im *importer) event(name string, line int) *inode {
	if ev, ok := im.events[name]; ok {
		return ev
	}
	ev := &inode{name: name, line: line}
	im.events[name] = ev
	return ev
}

// rejected names the formula operators that are not monotone or not supported, and why.
var rejected = map[string]string{
	"not":         "negation",
	"xor":         "exclusive or (a negation)",
	"nand":        "not-and (a negation)",
	"nor":         "not-or (a negation)",
	"iff":         "equivalence (a negation)",
	"imply":       "implication (a negation)",
	"cardinality": "a cardinality bound (a negation when max < number of arguments)",
}

func (im *importer) parseGate(g *inode) error {
	var formula *elem
	for _, k := range g.def.Kids {
		switch k.Name {
		case "label", "attributes":
			continue
		}
		if formula != nil {
			return fileErr(im.file, k.Line, g.name, "gate has more than one formula: wrap them in <and> or <or>")
		}
		formula = k
	}
	if formula == nil {
		return fileErr(im.file, g.line, g.name, "gate has no formula: add <and>, <or>, <atleast min=\"k\"> or a single event reference")
	}
	switch formula.Name {
	case "and", "or", "atleast":
		return im.operator(g, formula, g.name)
	}
	// A bare reference: the gate is reached through it.
	ref, err := im.argument(g, formula, g.name, 1)
	if err != nil {
		return err
	}
	g.op = "or"
	g.kids = []*inode{ref}
	return nil
}

// operator fills n from an <and>, <or> or <atleast> element. Nested formulas become nodes of
// their own; owner is the defining gate's name, for messages and labels.
func (im *importer) operator(n *inode, f *elem, owner string) error {
	n.op = f.Name
	if len(f.Kids) == 0 {
		return fileErr(im.file, f.Line, owner, "<%s> has no arguments", f.Name)
	}
	seen := map[*inode]bool{}
	for i, a := range f.Kids {
		ref, err := im.argument(n, a, owner, i+1)
		if err != nil {
			return err
		}
		if seen[ref] {
			if f.Name == "atleast" {
				return fileErr(im.file, a.Line, owner, "%q is an argument of <atleast> twice: list each argument once", ref.name)
			}
			continue // a AND a = a, a OR a = a
		}
		seen[ref] = true
		n.kids = append(n.kids, ref)
	}
	if f.Name == "atleast" {
		s, ok := f.Attr("min")
		if !ok {
			return fileErr(im.file, f.Line, owner, "<atleast> has no min attribute: add min=\"k\"")
		}
		k, err := strconv.Atoi(s)
		if err != nil || k < 1 || k > len(n.kids) {
			return fileErr(im.file, f.Line, owner, "<atleast min=%q> needs 1 <= min <= %d (its number of arguments)", s, len(n.kids))
		}
		n.k = k
	}
	return nil
}

// argument resolves one argument of a formula of parent: a reference, or a nested operator.
func (im *importer) argument(parent *inode, a *elem, owner string, pos int) (*inode, error) {
	if why, ok := rejected[a.Name]; ok {
		return nil, fileErr(im.file, a.Line, owner, "<%s> is %s: attack paths need a monotone formula (and, or, atleast); rewrite the gate without it", a.Name, why)
	}
	name, _ := a.Attr("name")
	switch a.Name {
	case "and", "or", "atleast":
		n := &inode{name: fmt.Sprintf("%s, argument %d", parent.name, pos), line: a.Line}
		return n, im.operator(n, a, owner)
	case "gate":
		g, ok := im.gates[name]
		if !ok {
			return nil, fileErr(im.file, a.Line, owner, "references gate %q, which is not defined: define it or fix the name", name)
		}
		return g, nil
	case "basic-event", "event":
		if name == "" {
			return nil, fileErr(im.file, a.Line, owner, "<%s> has no name attribute", a.Name)
		}
		if g, ok := im.gates[name]; ok {
			if a.Name == "basic-event" {
				return nil, fileErr(im.file, a.Line, owner, "references %q as a basic event, but it is a gate: use <gate name=%q/>", name, name)
			}
			return g, nil
		}
		if _, ok := im.houses[name]; ok {
			return nil, im.houseErr(a, owner, name)
		}
		return im.event(name, a.Line), nil
	case "house-event":
		return nil, im.houseErr(a, owner, name)
	case "constant":
		return nil, fileErr(im.file, a.Line, owner, "Boolean constants are not supported: simplify the gate without the constant")
	}
	return nil, fileErr(im.file, a.Line, owner, "unknown formula <%s>: use and, or, atleast, gate, basic-event or event", a.Name)
}

func (im *importer) houseErr(a *elem, owner, name string) error {
	return fileErr(im.file, a.Line, owner, "references house event %q: house events (Boolean constants) are not supported; set the constant and simplify the gate", name)
}

// checkCycles reports a gate that depends on itself, with the cycle. Iterative three-colour DFS.
func (im *importer) checkCycles() error {
	colour := map[*inode]uint8{}
	type frame struct {
		n    *inode
		next int
	}
	for _, start := range im.order {
		if colour[start] != 0 {
			continue
		}
		stack := []frame{{n: start}}
		colour[start] = 1
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next == len(top.n.kids) {
				colour[top.n] = 2
				stack = stack[:len(stack)-1]
				continue
			}
			c := top.n.kids[top.next]
			top.next++
			switch colour[c] {
			case 0:
				colour[c] = 1
				stack = append(stack, frame{n: c})
			case 1:
				var names []string
				i := len(stack) - 1
				for stack[i].n != c {
					i--
				}
				for _, f := range stack[i:] {
					names = append(names, f.n.name)
				}
				names = append(names, c.name)
				return fileErr(im.file, c.line, c.name, "gates form a cycle: %s; a gate cannot depend on itself", strings.Join(names, " -> "))
			}
		}
	}
	return nil
}

// tree lists the nodes depth first from the top gates (in definition order), children left to
// right, and gives each a sanitised, unique id in that order.
func (im *importer) tree() *attacktrees.Tree {
	referenced := map[*inode]bool{}
	walk := slices.Clone(im.order)
	// Mark every gate reached from another node, through nested formulas too.
	for len(walk) > 0 {
		n := walk[len(walk)-1]
		walk = walk[:len(walk)-1]
		for _, k := range n.kids {
			if k.gate {
				referenced[k] = true
			} else if k.op != "" {
				walk = append(walk, k)
			}
		}
	}
	t := &attacktrees.Tree{ID: treeID(im.file), File: im.file, Line: 1}
	t.Title = strings.Join(im.titles, ", ")
	if t.Title == "" {
		t.Title = t.ID
	}
	t.Source = "Open-PSA MEF"
	if im.file != "" {
		t.Source += ": " + filepath.Base(im.file)
	}
	ids := map[*inode]string{}
	used := xmltree.NewIDSet()
	seen := map[*inode]bool{}
	var stack []*inode
	for _, top := range im.order {
		if referenced[top] || seen[top] {
			continue
		}
		stack = append(stack[:0], top)
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[n] {
				continue
			}
			seen[n] = true
			ids[n] = used.Unique(t.ID + "-" + xmltree.ID(n.name, 0))
			node := &attacktrees.Node{ID: ids[n], Label: n.name, Line: n.line, Tree: t.ID}
			if n.label != "" {
				node.Label += ": " + n.label
			}
			switch {
			case n.op == "":
				node.Kind = attacktrees.KindStep
			case n == top:
				node.Kind = attacktrees.KindGoal
				node.Gate = attacktrees.Gate(n.op)
				node.K = n.k
			default:
				node.Kind = attacktrees.Kind(n.op)
				node.K = n.k
			}
			t.Nodes = append(t.Nodes, node)
			for i := len(n.kids) - 1; i >= 0; i-- {
				if !seen[n.kids[i]] {
					stack = append(stack, n.kids[i])
				}
			}
		}
	}
	// Children ids are known only once every node has one.
	byID := map[string]*inode{}
	for n, id := range ids {
		byID[id] = n
	}
	for _, node := range t.Nodes {
		for _, k := range byID[node.ID].kids {
			node.Children = append(node.Children, ids[k])
		}
	}
	return t
}

func treeID(file string) string {
	base := filepath.Base(file)
	if file == "" || file == "-" || base == "." {
		return "openpsa-model"
	}
	return xmltree.ID(strings.TrimSuffix(base, filepath.Ext(base)), 0)
}
