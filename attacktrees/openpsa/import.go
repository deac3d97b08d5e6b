package openpsa

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/threatcov/threatcov/attacktrees"
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
	done  bool // formula parsed
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
	root, err := readXML(r, file)
	if err != nil {
		return nil, err
	}
	if root.name != "opsa-mef" {
		return nil, fileErr(file, root.line, "", "root element is <%s>: an Open-PSA MEF file starts with <opsa-mef>", root.name)
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
		return nil, fileErr(file, root.line, "", "no gate defined: threatcov imports fault trees (<define-fault-tree> with <define-gate>)")
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
	for _, e := range c.kids {
		name, _ := e.attr("name")
		if role, _ := e.attr("role"); role == "private" {
			return fileErr(im.file, e.line, name, "private role is not supported (names would need scoped paths): make the %s public", e.name)
		}
		switch e.name {
		case "define-fault-tree":
			if where != "opsa-mef" {
				return fileErr(im.file, e.line, name, "<define-fault-tree> inside <%s>: fault trees are defined at the top level", c.name)
			}
			title := name
			if l := labelOf(e); l != "" {
				title = l
			}
			im.titles = append(im.titles, title)
			if err := im.container(e, e.name); err != nil {
				return err
			}
		case "define-component":
			if where == "opsa-mef" || where == "model-data" {
				return fileErr(im.file, e.line, name, "<define-component> inside <%s>: components belong to a fault tree", c.name)
			}
			if err := im.container(e, e.name); err != nil {
				return err
			}
		case "model-data":
			if where != "opsa-mef" {
				return fileErr(im.file, e.line, "", "<model-data> inside <%s>: model data is defined at the top level", c.name)
			}
			if err := im.container(e, e.name); err != nil {
				return err
			}
		case "define-gate":
			if where == "opsa-mef" || where == "model-data" {
				return fileErr(im.file, e.line, name, "<define-gate> inside <%s>: gates belong to a <define-fault-tree>", c.name)
			}
			if err := im.defineGate(e, name); err != nil {
				return err
			}
		case "define-basic-event":
			if name == "" {
				return fileErr(im.file, e.line, "", "<define-basic-event> has no name attribute")
			}
			if prev, ok := im.defined[name]; ok {
				return fileErr(im.file, e.line, name, "basic event defined twice (first at line %d): rename one", prev)
			}
			im.defined[name] = e.line
			ev := im.event(name, e.line)
			ev.line = e.line
			ev.label = labelOf(e)
		case "define-house-event":
			// Harmless unless a gate uses it; parseGate refuses the reference.
			im.houses[name] = e.line
		case "define-parameter", "label", "attributes":
			// Probabilities and annotations: attack paths do not use them.
		case "define-CCF-group":
			return fileErr(im.file, e.line, name, "common-cause failure groups are not supported (they replace their members by CCF events): expand the group into gates and basic events")
		case "define-substitution":
			return fileErr(im.file, e.line, name, "substitutions are not supported: apply the substitution to the fault tree first")
		case "define-event-tree", "define-initiating-event", "define-rule", "define-alignment",
			"define-sequence", "define-functional-event", "define-branch":
			return fileErr(im.file, e.line, name, "<%s>: event trees are not supported, threatcov imports fault trees only: move the fault trees to a file of their own", e.name)
		case "define-extern-library", "define-extern-function":
			return fileErr(im.file, e.line, name, "<%s>: external functions are not supported", e.name)
		default:
			return fileErr(im.file, e.line, name, "unknown element <%s> inside <%s>", e.name, c.name)
		}
	}
	return nil
}

func labelOf(e *elem) string {
	for _, k := range e.kids {
		if k.name == "label" {
			return collapse(k.text.String())
		}
	}
	return ""
}

func (im *importer) defineGate(e *elem, name string) error {
	if name == "" {
		return fileErr(im.file, e.line, "", "<define-gate> has no name attribute")
	}
	if prev, ok := im.gates[name]; ok {
		return fileErr(im.file, e.line, name, "gate defined twice (first at line %d): rename one", prev.line)
	}
	g := &inode{name: name, label: labelOf(e), line: e.line, gate: true, def: e}
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
	for _, k := range g.def.kids {
		switch k.name {
		case "label", "attributes":
			continue
		}
		if formula != nil {
			return fileErr(im.file, k.line, g.name, "gate has more than one formula: wrap them in <and> or <or>")
		}
		formula = k
	}
	if formula == nil {
		return fileErr(im.file, g.line, g.name, "gate has no formula: add <and>, <or>, <atleast min=\"k\"> or a single event reference")
	}
	switch formula.name {
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
	n.op = f.name
	if len(f.kids) == 0 {
		return fileErr(im.file, f.line, owner, "<%s> has no arguments", f.name)
	}
	seen := map[*inode]bool{}
	for i, a := range f.kids {
		ref, err := im.argument(n, a, owner, i+1)
		if err != nil {
			return err
		}
		if seen[ref] {
			if f.name == "atleast" {
				return fileErr(im.file, a.line, owner, "%q is an argument of <atleast> twice: list each argument once", ref.name)
			}
			continue // a AND a = a, a OR a = a
		}
		seen[ref] = true
		n.kids = append(n.kids, ref)
	}
	if f.name == "atleast" {
		s, ok := f.attr("min")
		if !ok {
			return fileErr(im.file, f.line, owner, "<atleast> has no min attribute: add min=\"k\"")
		}
		k, err := strconv.Atoi(s)
		if err != nil || k < 1 || k > len(n.kids) {
			return fileErr(im.file, f.line, owner, "<atleast min=%q> needs 1 <= min <= %d (its number of arguments)", s, len(n.kids))
		}
		n.k = k
	}
	return nil
}

// argument resolves one argument of a formula of parent: a reference, or a nested operator.
func (im *importer) argument(parent *inode, a *elem, owner string, pos int) (*inode, error) {
	if why, ok := rejected[a.name]; ok {
		return nil, fileErr(im.file, a.line, owner, "<%s> is %s: attack paths need a monotone formula (and, or, atleast); rewrite the gate without it", a.name, why)
	}
	name, _ := a.attr("name")
	switch a.name {
	case "and", "or", "atleast":
		n := &inode{name: fmt.Sprintf("%s, argument %d", parent.name, pos), line: a.line}
		return n, im.operator(n, a, owner)
	case "gate":
		g, ok := im.gates[name]
		if !ok {
			return nil, fileErr(im.file, a.line, owner, "references gate %q, which is not defined: define it or fix the name", name)
		}
		return g, nil
	case "basic-event", "event":
		if name == "" {
			return nil, fileErr(im.file, a.line, owner, "<%s> has no name attribute", a.name)
		}
		if g, ok := im.gates[name]; ok {
			if a.name == "basic-event" {
				return nil, fileErr(im.file, a.line, owner, "references %q as a basic event, but it is a gate: use <gate name=%q/>", name, name)
			}
			return g, nil
		}
		if _, ok := im.houses[name]; ok {
			return nil, im.houseErr(a, owner, name)
		}
		return im.event(name, a.line), nil
	case "house-event":
		return nil, im.houseErr(a, owner, name)
	case "constant":
		return nil, fileErr(im.file, a.line, owner, "Boolean constants are not supported: simplify the gate without the constant")
	}
	return nil, fileErr(im.file, a.line, owner, "unknown formula <%s>: use and, or, atleast, gate, basic-event or event", a.name)
}

func (im *importer) houseErr(a *elem, owner, name string) error {
	return fileErr(im.file, a.line, owner, "references house event %q: house events (Boolean constants) are not supported; set the constant and simplify the gate", name)
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
	var walk []*inode
	for _, g := range im.order {
		walk = append(walk, g)
	}
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
	used := newIDSet()
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
			ids[n] = used.unique(t.ID + "-" + sanitize(n.name))
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
	return sanitize(strings.TrimSuffix(base, filepath.Ext(base)))
}

// sanitize maps a name to [a-z0-9-]: lower case, every run of other characters one '-', no '-'
// at either end ("n" if nothing is left).
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
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
