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

// Catalog is a set of trees joined into one directed acyclic graph: an edge runs from a parent
// to each child, and from a subtree node to the node it stands for. A node listed by several
// parents is one graph node.
type Catalog struct {
	trees    []*Tree
	treeByID map[string]*Tree
	nodes    []*Node // indexed by graph id
	byID     map[string]*Node
	children [][]*Node // in drawing order, subtree targets included
	parents  [][]*Node // in node order

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

// Build joins parsed trees into a catalog: it checks ids across trees, resolves subtree targets
// and rejects cycles (naming every node of each cycle). Trees are kept in the order given.
// Cost is O(nodes + edges), cycle detection included (Tarjan's algorithm).
func Build(trees []*Tree) (*Catalog, error) {
	c := &Catalog{treeByID: map[string]*Tree{}, byID: map[string]*Node{}}
	var errs errorList
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
	c.children = make([][]*Node, len(c.nodes))
	c.parents = make([][]*Node, len(c.nodes))
	for _, n := range c.nodes {
		t := c.treeByID[n.Tree]
		for _, id := range n.Children {
			c.link(n, c.byID[id])
		}
		if n.Kind != KindSubtree {
			continue
		}
		targets := c.resolve(n.Target)
		if len(targets) == 0 {
			errs.add(t.File, n.Line, n.ID, "subtree target %q is neither a tree id nor a node id in the catalog: fix the target or load the tree it names", n.Target)
		}
		for _, target := range targets {
			if target == n {
				errs.add(t.File, n.Line, n.ID, "subtree targets itself")
				continue
			}
			c.link(n, target)
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
	return c, nil
}

func (c *Catalog) link(parent, child *Node) {
	if child == nil {
		return
	}
	c.children[parent.index] = append(c.children[parent.index], child)
	c.parents[child.index] = append(c.parents[child.index], parent)
}

func byIndex(a, b *Node) int { return cmp.Compare(a.index, b.index) }

// cycles returns the strongly connected components of more than one node (a self-loop alone is
// not one: a subtree targeting itself is reported where it is linked), each ordered by node
// index, the components by their first node. Tarjan's algorithm with an explicit stack.
func (c *Catalog) cycles() [][]*Node {
	n := len(c.nodes)
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
			if ch := c.children[v]; top.next < len(ch) {
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
				comp = append(comp, c.nodes[w])
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

// resolve finds what a subtree target names: a node, or every goal of a tree.
func (c *Catalog) resolve(target string) []*Node {
	if n, ok := c.byID[target]; ok {
		return []*Node{n}
	}
	if t, ok := c.treeByID[target]; ok {
		return c.Goals(t.ID)
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

// Children returns a node's children in drawing order; a subtree node's child is its target.
func (c *Catalog) Children(n *Node) []*Node { return c.children[n.index] }

// Parents returns a node's parents in graph-id order.
func (c *Catalog) Parents(n *Node) []*Node { return c.parents[n.index] }

// Graph returns the catalog as a gonum directed graph (edges parent -> child), built on the
// first call.
func (c *Catalog) Graph() graph.Directed {
	c.graphOnce.Do(func() {
		g := simple.NewDirectedGraph()
		for _, n := range c.nodes {
			g.AddNode(simple.Node(n.index))
		}
		for _, n := range c.nodes {
			for _, ch := range c.children[n.index] {
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

// Goals returns the goal nodes of a tree in file order.
func (c *Catalog) Goals(treeID string) []*Node {
	t, ok := c.treeByID[treeID]
	if !ok {
		return nil
	}
	var goals []*Node
	for _, n := range t.Nodes {
		if n.Kind == KindGoal {
			goals = append(goals, n)
		}
	}
	return goals
}

// IsLeaf reports whether n is an attack step with no children: the unit policies are mapped to.
func (c *Catalog) IsLeaf(n *Node) bool {
	return n.Kind != KindNote && len(c.children[n.index]) == 0
}

// Leaves returns the leaves reachable from a tree's goals, in graph-id order; through subtree
// nodes this includes leaves of other trees.
func (c *Catalog) Leaves(treeID string) []*Node {
	var leaves []*Node
	for _, n := range c.Reachable(c.Goals(treeID)...) {
		if c.IsLeaf(n) {
			leaves = append(leaves, n)
		}
	}
	return leaves
}

// Reachable returns every node reachable from the given nodes (themselves included), in
// graph-id order. O(r log r) for r reachable nodes and edges: it never touches the rest of the
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
// child this is the same as being reached through it).
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
