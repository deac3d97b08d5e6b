package attacktrees

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/simple"
)

// Catalog is a set of trees joined into one graph: an edge runs from a parent to each child
// it draws, and from a subtree box to each node it refers to. A node listed by several parents
// is one graph node. The drawn edges are acyclic; references may form cycles (the two CNCF
// scenarios refer to each other), which Expansion resolves as a least fixpoint
// (docs/semantics.md, "Subtree boxes").
type Catalog struct {
	trees    []*Tree
	treeByID map[string]*Tree
	nodes    []*Node // indexed by graph id
	byID     map[string]*Node
	children [][]*Node // drawn children, in drawing order
	targets  [][]*Node // what a subtree box refers to: a node, or a tree's top-level goals
	parents  [][]*Node // in node order, referring boxes included
	goals    map[string][]*Node

	// expansion is built on the first Expansion call, or by Build when references cycle.
	expandOnce sync.Once
	expansion  []Expanded
	expandErr  []*Node // nodes that can never be achieved (reference cycles with no way out)
	// expandTooBig is a node of a reference cycle whose unfolding would exceed MaxCopies.
	expandTooBig *Node

	// graph is built on the first Graph call: nothing in threatcov needs it, and for a large
	// catalog it was a fifth of the memory of an analysis.
	graphOnce sync.Once
	graph     *simple.DirectedGraph

	reach sync.Pool // of *reachMarks, for Reachable
}

// reachMarks are visit marks by graph id: a node is marked when its mark equals epoch, so a
// walk starts with a new epoch instead of clearing the marks.
type reachMarks struct {
	mark  []uint32
	epoch uint32
}

// GraphID is the node's id in the catalog's gonum graph: its position in Nodes().
func (n *Node) GraphID() int64 { return n.index }

// Build joins parsed trees into a catalog: it checks ids across trees, works out each tree's
// top-level goals, resolves subtree targets, rejects cycles of drawn edges (naming every node
// of each cycle) and subtree boxes that a reference cycle leaves no way to achieve. Trees are
// kept in the order given. Cost is O(nodes + edges), cycle detection included (Tarjan's
// algorithm), plus the expansion of the reference cycles when there are any (see Expansion).
func Build(trees []*Tree) (*Catalog, error) {
	c := &Catalog{treeByID: map[string]*Tree{}, byID: map[string]*Node{}, goals: map[string][]*Node{}}
	var errs errorList
	c.addTrees(trees, &errs)
	c.linkChildren()
	pages := c.pageRoots()
	for _, t := range c.trees {
		c.goals[t.ID] = c.topLevel(t, pages)
	}
	for _, n := range c.nodes {
		if n.Kind == KindSubtree {
			c.linkTargets(n, &errs)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	for _, cycle := range c.cycles() {
		errs.errs = append(errs.errs, c.cycleError(cycle))
	}
	for _, ps := range c.parents {
		// Links are made in parent order, so this is almost always already sorted.
		if !slices.IsSortedFunc(ps, byIndex) {
			slices.SortFunc(ps, byIndex)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if c.referenceCycles() {
		c.expandReferenceCycles(&errs)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// addTrees indexes the trees and their nodes in the order given, reporting duplicate tree and
// node ids (the first keeps the id).
func (c *Catalog) addTrees(trees []*Tree, errs *errorList) {
	for _, t := range trees {
		if prev, ok := c.treeByID[t.ID]; ok {
			errs.add(t.File, t.Line, "", "tree id %q is already used by %s:%d: give each tree its own id (or replace the catalog with --trees-mode replace)", t.ID, prev.File, prev.Line)
			continue
		}
		c.treeByID[t.ID] = t
		c.trees = append(c.trees, t)
		for _, n := range t.Nodes {
			if prev, ok := c.byID[n.ID]; ok {
				errs.add(t.File, n.Line, n.ID, "node id is already used in tree %q at %s:%d: node ids must be unique across trees; prefix them with the tree's name", prev.Tree, c.treeByID[prev.Tree].File, prev.Line)
				continue
			}
			n.Tree = t.ID
			n.index = int64(len(c.nodes))
			c.nodes = append(c.nodes, n)
			c.byID[n.ID] = n
		}
	}
}

// linkChildren makes the drawn edges: children and parents, in node order.
func (c *Catalog) linkChildren() {
	c.children = make([][]*Node, len(c.nodes))
	c.targets = make([][]*Node, len(c.nodes))
	c.parents = make([][]*Node, len(c.nodes))
	for _, n := range c.nodes {
		for _, id := range n.Children {
			if ch := c.byID[id]; ch != nil {
				c.children[n.index] = append(c.children[n.index], ch)
				c.parents[ch.index] = append(c.parents[ch.index], n)
			}
		}
	}
}

// linkTargets resolves a subtree box's target and links the box to each node it stands for,
// reporting a target that names nothing, or only the box itself.
func (c *Catalog) linkTargets(n *Node, errs *errorList) {
	t := c.treeByID[n.Tree]
	targets := c.resolve(n.Target)
	if len(targets) == 0 {
		errs.add(t.File, n.Line, n.ID, "subtree target %q is neither a tree id nor a node id in the catalog: fix the target or load the tree it names", n.Target)
	}
	for _, target := range targets {
		if target == n {
			if _, isNode := c.byID[n.Target]; isNode {
				errs.add(t.File, n.Line, n.ID, "subtree targets itself: set `target:` to the tree or node the box names")
			}
			// A box among the goals of the tree it names: a path through the box never runs
			// back through it, so it is no way to its own target.
			continue
		}
		if !slices.Contains(c.targets[n.index], target) {
			c.targets[n.index] = append(c.targets[n.index], target)
			c.parents[target.index] = append(c.parents[target.index], n)
		}
	}
	if len(targets) > 0 && len(c.targets[n.index]) == 0 {
		errs.add(t.File, n.Line, n.ID, "subtree target %q names only this box: set `target:` to the tree or node the box stands for", n.Target)
	}
}

// expandReferenceCycles unfolds the reference cycles (Expansion) and reports boxes whose
// unfolding is too big or that can never be achieved.
func (c *Catalog) expandReferenceCycles(errs *errorList) {
	c.Expansion()
	if n := c.expandTooBig; n != nil {
		errs.add(c.treeByID[n.Tree].File, n.Line, n.ID, "subtree references close cycles through so many boxes that unfolding them needs more than %d copies (docs/semantics.md, \"Subtree boxes\"): make boxes target a node rather than a whole tree, or split the cycle", MaxCopies)
	}
	for _, n := range c.expandErr {
		errs.add(c.treeByID[n.Tree].File, n.Line, n.ID, "subtree can never be achieved: every way to its target %q runs back through this box (a reference cycle with no way out, docs/semantics.md); give a tree of the cycle a goal that does not refer back", n.Target)
	}
}

// pageRoots finds the roots of sub-tree pages: goal nodes that a box of the same tree
// targets, and that do not themselves lead to that box (a box below its own target refers back
// up; it does not make its target a page). One pass over the catalog: a goal leads to a box
// that targets it exactly when both lie in one strongly connected component of the drawn edges
// and the same-tree node references.
func (c *Catalog) pageRoots() map[*Node]bool {
	sameTree := func(n *Node) *Node {
		if n.Kind != KindSubtree {
			return nil
		}
		if target, ok := c.byID[n.Target]; ok && target.Tree == n.Tree && target != n && target.Kind == KindGoal {
			return target
		}
		return nil
	}
	var boxes []*Node
	for _, n := range c.nodes {
		if sameTree(n) != nil {
			boxes = append(boxes, n)
		}
	}
	if len(boxes) == 0 {
		return nil
	}
	comp := map[*Node]int{}
	for i, nodes := range components(len(c.nodes), c.nodes, func(v int) []*Node {
		if target := sameTree(c.nodes[v]); target != nil {
			return append(slices.Clip(c.children[v]), target)
		}
		return c.children[v]
	}) {
		for _, n := range nodes {
			comp[n] = i + 1
		}
	}
	pages := map[*Node]bool{}
	for _, box := range boxes {
		target := sameTree(box)
		if comp[box] == 0 || comp[box] != comp[target] {
			pages[target] = true
		}
	}
	return pages
}

// topLevel returns a tree's top-level goals in file order: its goal nodes and the subtree
// boxes no node of the tree lists as a child, less the roots of sub-tree pages (reached only
// through their box).
func (c *Catalog) topLevel(t *Tree, pages map[*Node]bool) []*Node {
	isChild := map[string]bool{}
	for _, n := range t.Nodes {
		for _, ch := range n.Children {
			isChild[ch] = true
		}
	}
	var goals []*Node
	for _, n := range t.Nodes {
		if c.byID[n.ID] != n {
			continue // a duplicate id, already reported
		}
		switch {
		case n.Kind == KindGoal && !pages[n], n.Kind == KindSubtree && !isChild[n.ID]:
			goals = append(goals, n)
		}
	}
	return goals
}

func byIndex(a, b *Node) int { return cmp.Compare(a.index, b.index) }

// cycles returns the strongly connected components of more than one node of the drawn edges
// (references may cycle), each ordered by node index, the components by their first node.
func (c *Catalog) cycles() [][]*Node {
	return components(len(c.nodes), c.nodes, func(v int) []*Node { return c.children[v] })
}

// components returns the strongly connected components of more than one node of the graph
// whose edges out of node v are next(v) (a self-loop alone is not one), each ordered by node
// index, the components by their first node. Tarjan's algorithm with an explicit stack.
func components(n int, nodes []*Node, next func(v int) []*Node) [][]*Node {
	order := make([]int32, n) // 0: not visited yet; else the visit number
	low := make([]int32, n)
	onStack := make([]bool, n)
	var stack []int32
	type frame struct {
		v    int32
		next int
	}
	var call []frame
	visits := int32(0)
	visit := func(v int32) {
		visits++
		order[v], low[v] = visits, visits
		stack = append(stack, v)
		onStack[v] = true
		call = append(call, frame{v: v})
	}
	var out [][]*Node
	for s := range n {
		if order[s] != 0 {
			continue
		}
		visit(int32(s))
		for len(call) > 0 {
			top := &call[len(call)-1]
			v := top.v
			if ch := next(int(v)); top.next < len(ch) {
				w := int32(ch[top.next].index)
				top.next++
				switch {
				case order[w] == 0:
					visit(w)
				case onStack[w]:
					low[v] = min(low[v], order[w])
				}
				continue
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] != order[v] {
				continue
			}
			var comp []*Node
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, nodes[w])
				if w == v {
					break
				}
			}
			if len(comp) > 1 {
				slices.SortFunc(comp, byIndex)
				out = append(out, comp)
			}
		}
	}
	slices.SortFunc(out, func(a, b []*Node) int { return byIndex(a[0], b[0]) })
	return out
}

// resolve finds what a subtree target names: a node, or the top-level goals of a tree.
func (c *Catalog) resolve(target string) []*Node {
	if n, ok := c.byID[target]; ok {
		return []*Node{n}
	}
	if t, ok := c.treeByID[target]; ok {
		return c.goals[t.ID]
	}
	return nil
}

// cycleError reports one strongly connected component, its nodes in index order.
func (c *Catalog) cycleError(nodes []*Node) *Error {
	// Walk the cycle from its first node along child edges inside the component, so the
	// message reads in edge order.
	in := map[*Node]bool{}
	for _, n := range nodes {
		in[n] = true
	}
	path := []string{nodes[0].ID}
	seen := map[*Node]bool{nodes[0]: true}
	cur := nodes[0]
	for {
		var next *Node
		for _, ch := range c.children[cur.index] {
			if in[ch] && (!seen[ch] || ch == nodes[0]) {
				next = ch
				break
			}
		}
		if next == nil {
			break
		}
		path = append(path, next.ID)
		if next == nodes[0] {
			break
		}
		seen[next] = true
		cur = next
	}
	first := nodes[0]
	return &Error{File: c.treeByID[first.Tree].File, Line: first.Line, Node: first.ID,
		Msg: fmt.Sprintf("cycle: %s: attack trees must be acyclic; remove one of these edges", cycleText(path))}
}

// cycleText joins a cycle's node ids in edge order; a long cycle keeps its first and last ten
// nodes and counts the rest, so the message stays one readable line.
func cycleText(path []string) string {
	const keep = 10
	if len(path) <= 2*keep+1 {
		return strings.Join(path, " -> ")
	}
	return fmt.Sprintf("%s -> ... (%d more nodes) ... -> %s", strings.Join(path[:keep], " -> "),
		len(path)-2*keep, strings.Join(path[len(path)-keep:], " -> "))
}

// Trees returns the catalog's trees in load order.
func (c *Catalog) Trees() []*Tree { return c.trees }

// Tree returns the tree with the given id.
func (c *Catalog) Tree(id string) (*Tree, bool) {
	t, ok := c.treeByID[id]
	return t, ok
}

// Nodes returns every node, in graph-id order (tree load order, then file order).
func (c *Catalog) Nodes() []*Node { return c.nodes }

// Node returns the node with the given id.
func (c *Catalog) Node(id string) (*Node, bool) {
	n, ok := c.byID[id]
	return n, ok
}

// Children returns the children a node draws, in drawing order. A subtree box's children are
// its own connectors (how the attacker reaches the referenced attack); its target is Targets.
func (c *Catalog) Children(n *Node) []*Node { return c.children[n.index] }

// Targets returns what a subtree box refers to: the node it names, or the top-level goals of
// the tree it names (the box stands for their OR). It is empty for every other node.
func (c *Catalog) Targets(n *Node) []*Node { return c.targets[n.index] }

// Parents returns a node's parents in graph-id order: the nodes that draw it as a child and
// the subtree boxes that refer to it.
func (c *Catalog) Parents(n *Node) []*Node { return c.parents[n.index] }

// Graph returns the catalog as a gonum directed graph (edges parent -> child and box ->
// target), built on the first call. References may make it cyclic.
func (c *Catalog) Graph() graph.Directed {
	c.graphOnce.Do(func() {
		g := simple.NewDirectedGraph()
		for _, n := range c.nodes {
			g.AddNode(simple.Node(n.index))
		}
		for _, n := range c.nodes {
			for _, ch := range c.successors(n) {
				// Simple graphs hold neither self-loops nor parallel edges.
				if ch != n && !g.HasEdgeFromTo(n.index, ch.index) {
					g.SetEdge(g.NewEdge(simple.Node(n.index), simple.Node(ch.index)))
				}
			}
		}
		c.graph = g
	})
	return c.graph
}

// Goals returns the top-level goals of a tree in file order: its goal nodes and parentless
// subtree boxes, less the root of a sub-tree page that a box of the same tree targets
// (docs/semantics.md, "Subtree boxes"). A reference to the tree stands for their OR.
func (c *Catalog) Goals(treeID string) []*Node { return c.goals[treeID] }

// IsLeaf reports whether n is an attack step with no children: the unit policies are mapped to.
// A subtree box is never a leaf: it has a target.
func (c *Catalog) IsLeaf(n *Node) bool {
	return n.Kind != KindNote && len(c.children[n.index]) == 0 && len(c.targets[n.index]) == 0
}

// successors returns a node's drawn children followed by its targets.
func (c *Catalog) successors(n *Node) []*Node {
	if len(c.targets[n.index]) == 0 {
		return c.children[n.index]
	}
	return append(slices.Clip(c.children[n.index]), c.targets[n.index]...)
}

// Leaves returns the leaves reachable from a tree's goals, in graph-id order; through subtree
// boxes this includes leaves of other trees.
func (c *Catalog) Leaves(treeID string) []*Node {
	var leaves []*Node
	for _, n := range c.Reachable(c.Goals(treeID)...) {
		if c.IsLeaf(n) {
			leaves = append(leaves, n)
		}
	}
	return leaves
}

// Reachable returns every node reachable from the given nodes (themselves included) through
// children and subtree targets, in graph-id order. O(r log r) for r reachable nodes and edges: it never touches the rest of the
// catalog, so calling it per node stays linear in a large catalog of small trees. Its visit
// marks are reused between calls (from a pool: concurrent calls are safe) instead of a map
// per call.
func (c *Catalog) Reachable(from ...*Node) []*Node {
	m, _ := c.reach.Get().(*reachMarks)
	if m == nil || len(m.mark) < len(c.nodes) {
		m = &reachMarks{mark: make([]uint32, len(c.nodes))}
	}
	if m.epoch++; m.epoch == 0 {
		clear(m.mark)
		m.epoch = 1
	}
	stack := append([]*Node(nil), from...)
	var out []*Node
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if m.mark[n.index] == m.epoch {
			continue
		}
		m.mark[n.index] = m.epoch
		out = append(out, n)
		stack = append(stack, c.children[n.index]...)
		stack = append(stack, c.targets[n.index]...)
	}
	c.reach.Put(m)
	slices.SortFunc(out, byIndex)
	return out
}

// Notes returns the notes attached to n, in catalog order.
func (c *Catalog) Notes(n *Node) []*Node {
	var notes []*Node
	for _, m := range c.treeByID[n.Tree].Nodes {
		if m.Kind != KindNote {
			continue
		}
		for _, a := range m.Annotates {
			if a == n.ID {
				notes = append(notes, m)
			}
		}
	}
	return notes
}

// Combine tells how a node's children combine into the node: an AND, OR or k-of-n gate. Plain
// goals, steps with children and subtree nodes are ORs (the attack-tree convention; with one
// child this is the same as being reached through it). A subtree box with children is
// AND(target, OR(children)): Combine is the gate over its drawn children only.
func (n *Node) Combine() (gate Gate, k int) {
	switch {
	case n.Kind == KindAnd || (n.Kind == KindGoal && n.Gate == GateAnd):
		return GateAnd, 0
	case n.Kind == KindAtLeast || (n.Kind == KindGoal && n.Gate == GateAtLeast):
		return GateAtLeast, n.K
	default:
		return GateOr, 0
	}
}
