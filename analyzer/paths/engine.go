package paths

import (
	"fmt"
	"math/big"
	"strings"
	"sync"
)

// Op is what a model node computes.
type Op uint8

const (
	Leaf Op = iota
	And
	Or
	AtLeast
)

func (o Op) String() string {
	switch o {
	case Leaf:
		return "leaf"
	case And:
		return "and"
	case Or:
		return "or"
	case AtLeast:
		return "atleast"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Node is one node of a monotone model. Children index Model.Nodes; leaves have none. K is the
// threshold of an AtLeast node (1 ≤ K ≤ len(Children)) and is ignored otherwise.
type Node struct {
	Op       Op
	K        int
	Children []int
}

// Model is a monotone AND/OR/AtLeast DAG. A node listed by several parents is one node.
type Model struct {
	Nodes []Node
}

// CycleError reports a cycle of the model: Cycle lists node indices, each the parent of the
// next, the last the parent of the first.
type CycleError struct {
	Cycle []int
}

func (e *CycleError) Error() string {
	parts := make([]string, len(e.Cycle)+1)
	for i, n := range e.Cycle {
		parts[i] = fmt.Sprint(n)
	}
	parts[len(e.Cycle)] = fmt.Sprint(e.Cycle[0])
	return "model has a cycle: " + strings.Join(parts, " -> ")
}

// Engine answers minimal cut set questions about one model. It computes each node's family
// once, on first use, and keeps it: several roots share the work. An Engine is safe for
// concurrent use (calls are serialised).
type Engine struct {
	mu     sync.Mutex
	nodes  []Node
	z      *zbdd
	rank   []int32 // model node -> variable rank (leaves only; -1 otherwise)
	leafAt []int   // variable rank -> model node
	fam    []int32 // model node -> ZBDD of its minimal cut sets; unknown until computed

	// Scratch of skipOver: skipped and seenVar, by variable rank, are all false between
	// calls; asked lists the ranks the current call set.
	skipped, seenVar []bool
	asked            []int32
}

// Option changes how New builds an Engine.
type Option func(*Engine)

// WithLeafOrder makes the variable order the order of leaf indices instead of depth-first
// discovery order. Enumeration ties are then broken lexicographically by leaf index even when
// the model's leaves are not numbered depth-first.
func WithLeafOrder() Option {
	return func(e *Engine) {
		e.leafAt = e.leafAt[:0]
		for i, n := range e.nodes {
			if n.Op == Leaf {
				e.rank[i] = int32(len(e.leafAt))
				e.leafAt = append(e.leafAt, i)
			}
		}
	}
}

// New validates m (child indices in range, leaves without children, gates with children, K in
// range, no cycle: a *CycleError names it) and returns an engine over it. The model is copied.
func New(m Model, opts ...Option) (*Engine, error) {
	nodes := make([]Node, len(m.Nodes))
	for i, n := range m.Nodes {
		switch n.Op {
		case Leaf:
			if len(n.Children) > 0 {
				return nil, fmt.Errorf("node %d: a leaf has no children, this one has %d", i, len(n.Children))
			}
		case And, Or:
			if len(n.Children) == 0 {
				return nil, fmt.Errorf("node %d: %s gate without children", i, n.Op)
			}
		case AtLeast:
			if n.K < 1 || n.K > len(n.Children) {
				return nil, fmt.Errorf("node %d: atleast needs 1 <= k <= %d children, k is %d", i, len(n.Children), n.K)
			}
		default:
			return nil, fmt.Errorf("node %d: unknown op %d", i, n.Op)
		}
		for _, c := range n.Children {
			if c < 0 || c >= len(m.Nodes) {
				return nil, fmt.Errorf("node %d: child %d out of range [0,%d)", i, c, len(m.Nodes))
			}
		}
		nodes[i] = Node{Op: n.Op, K: n.K, Children: append([]int(nil), n.Children...)}
	}
	if cyc := findCycle(nodes); cyc != nil {
		return nil, &CycleError{Cycle: cyc}
	}
	e := &Engine{
		nodes: nodes,
		z:     newZBDD(),
		rank:  make([]int32, len(nodes)),
		fam:   make([]int32, len(nodes)),
	}
	for i := range e.fam {
		e.fam[i] = unknown
		e.rank[i] = unknown
	}
	e.dfsOrder()
	for _, o := range opts {
		o(e)
	}
	return e, nil
}

// findCycle returns a cycle of the graph, or nil. Iterative three-colour DFS.
func findCycle(nodes []Node) []int {
	const (
		white = iota
		grey
		black
	)
	colour := make([]uint8, len(nodes))
	type frame struct{ n, next int }
	for start := range nodes {
		if colour[start] != white {
			continue
		}
		stack := []frame{{start, 0}}
		colour[start] = grey
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			ch := nodes[top.n].Children
			if top.next == len(ch) {
				colour[top.n] = black
				stack = stack[:len(stack)-1]
				continue
			}
			c := ch[top.next]
			top.next++
			switch colour[c] {
			case white:
				colour[c] = grey
				stack = append(stack, frame{c, 0})
			case grey:
				var cyc []int
				for i := len(stack) - 1; i >= 0; i-- {
					cyc = append(cyc, stack[i].n)
					if stack[i].n == c {
						break
					}
				}
				for i, j := 0, len(cyc)-1; i < j; i, j = i+1, j-1 {
					cyc[i], cyc[j] = cyc[j], cyc[i]
				}
				return cyc
			}
		}
	}
	return nil
}

// dfsOrder numbers the leaves in depth-first preorder from the parentless nodes (in index
// order, children left to right), numbering a gate's own leaf children before descending into
// its gate children. Leaves that meet in a gate get neighbouring variables, which keeps the
// diagrams small (the usual fault-tree heuristic); and a gate's leaves rank above everything
// deeper, so building a deep chain bottom-up adds each new variable at the top of the diagram
// in constant time instead of walking the whole chain.
func (e *Engine) dfsOrder() {
	hasParent := make([]bool, len(e.nodes))
	for _, n := range e.nodes {
		for _, c := range n.Children {
			hasParent[c] = true
		}
	}
	seen := make([]bool, len(e.nodes))
	number := func(n int) {
		seen[n] = true
		e.rank[n] = int32(len(e.leafAt))
		e.leafAt = append(e.leafAt, n)
	}
	var stack []int
	for root := range e.nodes {
		if hasParent[root] || seen[root] {
			continue
		}
		stack = append(stack[:0], root)
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[n] {
				continue
			}
			if e.nodes[n].Op == Leaf {
				number(n)
				continue
			}
			seen[n] = true
			ch := e.nodes[n].Children
			for _, c := range ch {
				if !seen[c] && e.nodes[c].Op == Leaf {
					number(c)
				}
			}
			for i := len(ch) - 1; i >= 0; i-- {
				if !seen[ch[i]] {
					stack = append(stack, ch[i])
				}
			}
		}
	}
}

// gcMin is how many nodes the store may grow beyond twice what the last collection kept before
// the next collection: small models never collect.
const gcMin = 1 << 20

// Rank returns the variable rank of a leaf: enumeration lists each set's leaves, and breaks
// ties between sets of one size, in ascending rank. It is -1 for a node that is not a leaf.
func (e *Engine) Rank(leaf int) int {
	if leaf < 0 || leaf >= len(e.rank) {
		return -1
	}
	return int(e.rank[leaf])
}

// family returns the ZBDD of the minimal cut sets of root, computing every node below it that
// is not yet known, children before parents, with an explicit stack.
func (e *Engine) family(root int) int32 {
	if root < 0 || root >= len(e.nodes) {
		panic(fmt.Sprintf("paths: root %d out of range [0,%d)", root, len(e.nodes)))
	}
	if f := e.fam[root]; f != unknown {
		return f
	}
	type frame struct{ n, next int }
	stack := []frame{{root, 0}}
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		ch := e.nodes[top.n].Children
		for top.next < len(ch) && e.fam[ch[top.next]] != unknown {
			top.next++
		}
		if top.next < len(ch) {
			stack = append(stack, frame{ch[top.next], 0})
			continue
		}
		e.fam[top.n] = e.compute(top.n)
		stack = stack[:len(stack)-1]
		if len(e.z.nodes) > 2*e.z.liveAfterGC+gcMin {
			e.z.gc(e.fam)
		}
	}
	return e.fam[root]
}

func (e *Engine) compute(i int) int32 {
	z := e.z
	n := e.nodes[i]
	switch n.Op {
	case Leaf:
		return z.mk(e.rank[i], zero, one)
	// Fold right to left: ranks grow left to right, so each step puts the new child's variables
	// above the accumulated diagram, which mostly costs a few new nodes instead of a rebuild.
	case Or:
		acc := zero
		for ci := len(n.Children) - 1; ci >= 0; ci-- {
			acc = z.MinUnion(e.fam[n.Children[ci]], acc)
		}
		return acc
	case And:
		acc := one
		for ci := len(n.Children) - 1; ci >= 0; ci-- {
			acc = z.MinProductSplit(e.fam[n.Children[ci]], acc)
		}
		return acc
	default: // AtLeast
		// t[j] = minimal cut sets of "at least j of the children seen so far", right to left.
		t := make([]int32, n.K+1)
		t[0] = one
		for ci := len(n.Children) - 1; ci >= 0; ci-- {
			f := e.fam[n.Children[ci]]
			for j := n.K; j >= 1; j-- {
				if t[j-1] == zero {
					continue
				}
				t[j] = z.MinUnion(t[j], z.MinProductSplit(f, t[j-1]))
			}
		}
		return t[n.K]
	}
}

// skip asks blocked about every leaf of the model: for masks, prepared once for many counts.
func (e *Engine) skip(blocked func(int) bool) []bool {
	if blocked == nil {
		return nil
	}
	s := make([]bool, len(e.leafAt))
	for r, leaf := range e.leafAt {
		s[r] = blocked(leaf)
	}
	return s
}

// skipOver returns skip flags by variable rank that are set for the blocked leaves among the
// variables of order's nodes, asking blocked once per such variable: one count or enumeration
// costs its own diagram, never a pass over every leaf of the model. Every other flag is false.
// The flags are scratch: call clearSkip when done with them. A nil blocked gives nil.
func (e *Engine) skipOver(order []int32, blocked func(int) bool) []bool {
	if blocked == nil {
		return nil
	}
	if e.skipped == nil {
		e.skipped = make([]bool, len(e.leafAt))
		e.seenVar = make([]bool, len(e.leafAt))
	}
	for _, id := range order {
		v := e.z.nodes[id].v
		if e.seenVar[v] {
			continue
		}
		e.seenVar[v] = true
		e.asked = append(e.asked, v)
		e.skipped[v] = blocked(e.leafAt[v])
	}
	return e.skipped
}

// clearSkip resets what skipOver set.
func (e *Engine) clearSkip() {
	for _, v := range e.asked {
		e.skipped[v], e.seenVar[v] = false, false
	}
	e.asked = e.asked[:0]
}

// Count returns the number of minimal cut sets (minimal attack paths) of root. Linear in the
// size of root's diagram once the diagram is built.
func (e *Engine) Count(root int) *big.Int {
	return e.CountAvoiding(root, nil)
}

// CountAvoiding returns the number of minimal cut sets of root that hold no blocked leaf
// (blocked may be nil). The minimal cut sets are those of the unmodified model: blocking a leaf
// removes the paths through it, it does not turn other sets into minimal ones.
func (e *Engine) CountAvoiding(root int, blocked func(leaf int) bool) *big.Int {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.family(root)
	if f <= one {
		return big.NewInt(int64(f))
	}
	e.z.order = e.z.reachableInto(f, e.z.order[:0])
	defer e.clearSkip()
	return e.z.countOrder(e.z.order, e.skipOver(e.z.order, blocked))
}

// Mask is a set of blocked leaves prepared once for many counts (see CountEachMasked).
type Mask struct {
	skip []bool // by variable rank
}

// NewMask asks blocked once per leaf of the model.
func (e *Engine) NewMask(blocked func(leaf int) bool) *Mask {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.skip(blocked)
	if s == nil {
		s = make([]bool, len(e.leafAt))
	}
	return &Mask{skip: s}
}

// CountEachMasked counts, for each root, the minimal cut sets holding no leaf of mask and none
// of extra (leaf indices blocked for this call only). It costs the roots' diagrams plus
// len(extra), never a pass over every leaf of the model, so many counts over a large model
// stay cheap. The result is in the order of roots; mask is left as it was.
func (e *Engine) CountEachMasked(roots []int, mask *Mask, extra []int) []*big.Int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var set []int32
	for _, leaf := range extra {
		if leaf < 0 || leaf >= len(e.rank) || e.rank[leaf] < 0 {
			continue
		}
		if r := e.rank[leaf]; !mask.skip[r] {
			mask.skip[r] = true
			set = append(set, r)
		}
	}
	out := make([]*big.Int, len(roots))
	for i, r := range roots {
		out[i] = e.z.count(e.family(r), mask.skip)
	}
	for _, r := range set {
		mask.skip[r] = false
	}
	return out
}

// Nodes returns the number of ZBDD nodes built so far (for benchmarks and reports).
func (e *Engine) Nodes() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.z.nodes)
}
