package attacktrees

import (
	"slices"
	"strconv"
	"strings"
)

// Expanded is one node of a catalog's expansion: the catalog as an acyclic AND/OR/k-of-n model
// in which every subtree reference is unfolded per entry context (see Expansion).
type Expanded struct {
	// Node is the catalog node this stands for: the node itself, a copy of it for one entry
	// context, or (for a subtree box with children) the OR of its targets or of its children.
	Node *Node
	// Gate combines Children: GateAnd, GateOr or GateAtLeast (with K). It is "" for a leaf
	// (an attack step with no children, or a note, which no goal reaches).
	Gate     Gate
	K        int
	Children []int
}

// Expansion returns the catalog as an acyclic model whose first len(Nodes()) entries are the
// catalog's nodes (same index as GraphID) as reached from a goal; later entries are copies
// and helper gates. It is what path counting and the Open-PSA export read, so both count the
// same paths. Rules (docs/semantics.md, "Subtree boxes"):
//
//   - a node's drawn children combine as Combine says;
//   - a subtree box is the OR of its targets (one node, or the top-level goals of a tree) when
//     it has no children, and AND(OR(targets), OR(children)) when it has;
//   - reference cycles are resolved as a least fixpoint: a path never runs back through a box
//     it came through. Each node on a reference cycle is copied once per entry context (the
//     set of boxes of its cycle already passed through); a box reached again in its own context
//     is unachievable, and the gates above drop it (OR) or become unachievable (AND, or k-of-n
//     with fewer than k achievable children).
//
// Leaves are never copied, so an attack path is a set of catalog leaves whatever the context.
// The result is computed once and shared; callers must not modify it.
//
// Cost: O(nodes + edges) when no reference cycles; otherwise each node of a strongly connected
// component with b boxes is expanded once per context reached, at most 2^b contexts (the CNCF
// catalog has one such component with two boxes), each in time linear in its edges. Recursion
// depth is bounded by the size of the component times its contexts.
func (c *Catalog) Expansion() []Expanded {
	c.expandOnce.Do(c.expand)
	return c.expansion
}

// referenceCycles reports whether subtree references close a cycle (drawn edges alone never
// do: Build rejects that).
func (c *Catalog) referenceCycles() bool {
	for _, ts := range c.targets {
		if len(ts) > 0 {
			return len(c.referenceComponents()) > 0
		}
	}
	return false
}

// referenceComponents are the strongly connected components of drawn and reference edges.
func (c *Catalog) referenceComponents() [][]*Node {
	return components(len(c.nodes), c.nodes, func(v int) []*Node { return c.successors(c.nodes[v]) })
}

// expander holds the state of one expansion.
type expander struct {
	c    *Catalog
	out  []Expanded
	comp []int32 // component of each node on a reference cycle, -1 elsewhere
	memo map[string]int
}

// unachievable marks a node copy that no path achieves.
const unachievable = -1

// MaxCopies bounds how many copies the expansion of reference cycles may make: a cycle through b
// boxes can need 2^b contexts, and hostile input must not turn that into a hang. Build refuses a
// catalog that would need more, naming a box of the offending cycle.
const MaxCopies = 1 << 20

func (c *Catalog) expand() {
	x := &expander{c: c, out: make([]Expanded, len(c.nodes)), comp: make([]int32, len(c.nodes)), memo: map[string]int{}}
	for i := range x.comp {
		x.comp[i] = -1
	}
	if c.referenceCycles() {
		for ci, comp := range c.referenceComponents() {
			for _, n := range comp {
				x.comp[n.index] = int32(ci)
			}
		}
	}
	var never []*Node
	for i, n := range c.nodes {
		if c.expandTooBig != nil {
			break
		}
		if x.comp[i] >= 0 {
			if x.node(i, nil) == unachievable {
				never = append(never, n)
			}
			continue
		}
		// Off every reference cycle the context is always empty: the node is as drawn.
		x.fill(i, n, nil, nil)
	}
	if c.expandTooBig != nil {
		return // Build reports it; the catalog is not used
	}
	c.expansion = x.compact()
	// Report the boxes a cycle makes unachievable: every other unachievable node is so
	// because of one of them.
	for _, n := range never {
		if n.Kind == KindSubtree {
			c.expandErr = append(c.expandErr, n)
		}
	}
	if len(c.expandErr) == 0 {
		c.expandErr = never
	}
}

// node returns the index of node i's copy for the context ctx (the sorted indices of the boxes
// of i's reference cycle already passed through), building it on first use, or unachievable.
func (x *expander) node(i int, ctx []int32) int {
	key := contextKey(i, ctx)
	if idx, ok := x.memo[key]; ok {
		return idx
	}
	n := x.c.nodes[i]
	idx := i
	if len(ctx) > 0 {
		idx = len(x.out)
		x.out = append(x.out, Expanded{})
	}
	x.out[idx] = Expanded{Node: n}
	x.memo[key] = idx
	if len(x.out)-len(x.c.nodes) > MaxCopies {
		if x.c.expandTooBig == nil {
			x.c.expandTooBig = n
		}
		return unachievable
	}
	if !x.fill(idx, n, ctx, func(child *Node, ctx []int32) int {
		if x.comp[child.index] < 0 || x.comp[child.index] != x.comp[i] {
			return int(child.index) // another component: entered afresh, never unachievable
		}
		return x.node(int(child.index), ctx)
	}) {
		x.memo[key] = unachievable
		return unachievable
	}
	return idx
}

// fill writes the expansion of n in context ctx at index idx, reaching children through at
// (nil: a child's own index). It reports false when n is unachievable in ctx.
func (x *expander) fill(idx int, n *Node, ctx []int32, at func(*Node, []int32) int) bool {
	if at == nil {
		at = func(child *Node, _ []int32) int { return int(child.index) }
	}
	children := x.c.children[n.index]
	if n.Kind == KindSubtree {
		if slices.Contains(ctx, int32(n.index)) {
			return false // the path came through this box already
		}
		inner := ctx
		if x.comp[n.index] >= 0 {
			inner = insertSorted(ctx, int32(n.index))
		}
		targets := x.reach(x.c.targets[n.index], inner, at)
		if len(targets) == 0 {
			return false
		}
		if len(children) == 0 {
			x.out[idx] = Expanded{Node: n, Gate: GateOr, Children: targets}
			return true
		}
		kids := x.reach(children, inner, at)
		if len(kids) == 0 {
			return false
		}
		x.out[idx] = Expanded{Node: n, Gate: GateAnd, Children: []int{x.or(n, targets), x.or(n, kids)}}
		return true
	}
	if len(children) == 0 {
		x.out[idx] = Expanded{Node: n}
		return true
	}
	kids := x.reach(children, ctx, at)
	gate, k := n.Combine()
	switch {
	case gate == GateAnd && len(kids) < len(children):
		return false
	case gate == GateAtLeast && len(kids) < k:
		return false
	case len(kids) == 0:
		return false
	}
	x.out[idx] = Expanded{Node: n, Gate: gate, K: k, Children: kids}
	return true
}

// reach expands nodes in ctx and returns the achievable ones' indices, in order.
func (x *expander) reach(nodes []*Node, ctx []int32, at func(*Node, []int32) int) []int {
	out := make([]int, 0, len(nodes))
	for _, m := range nodes {
		if idx := at(m, ctx); idx != unachievable {
			out = append(out, idx)
		}
	}
	return out
}

// or returns the single index, or a helper OR gate over several, standing for part of box n.
func (x *expander) or(n *Node, idx []int) int {
	if len(idx) == 1 {
		return idx[0]
	}
	x.out = append(x.out, Expanded{Node: n, Gate: GateOr, Children: idx})
	return len(x.out) - 1
}

// compact drops the copies left unreferenced because they turned out unachievable, keeping
// the catalog's own indices.
func (x *expander) compact() []Expanded {
	n := len(x.c.nodes)
	if len(x.out) == n {
		return x.out
	}
	keep := make([]bool, len(x.out))
	var stack []int
	for i := range n {
		keep[i] = true
		stack = append(stack, x.out[i].Children...)
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !keep[i] {
			keep[i] = true
			stack = append(stack, x.out[i].Children...)
		}
	}
	newIdx := make([]int, len(x.out))
	out := x.out[:0:0]
	for i, e := range x.out {
		if keep[i] {
			newIdx[i] = len(out)
			out = append(out, e)
		}
	}
	for i := range out {
		kids := make([]int, len(out[i].Children))
		for j, ch := range out[i].Children {
			kids[j] = newIdx[ch]
		}
		out[i].Children = kids
	}
	return out
}

func insertSorted(ctx []int32, v int32) []int32 {
	i, _ := slices.BinarySearch(ctx, v)
	return slices.Insert(slices.Clone(ctx), i, v)
}

func contextKey(i int, ctx []int32) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(i))
	for _, v := range ctx {
		b.WriteByte(',')
		b.WriteString(strconv.Itoa(int(v)))
	}
	return b.String()
}
