package paths

import (
	"math"
	"math/big"
	"math/bits"
	"slices"
	"unsafe"
)

// zbdd is a zero-suppressed BDD store: a family of leaf sets is a node id. Ids 0 and 1 are the
// terminals (the empty family and the family holding only the empty set). A node's children
// always have smaller ids than the node, so ascending id order is a topological order; the
// counting passes rely on this instead of recursion.
type zbdd struct {
	nodes  []znode
	unique []int32 // open addressing over nodes; 0 marks a free slot (terminal 0 is never stored)
	used   int

	union, product, without, minProduct, diff opCache

	liveAfterGC int // nodes kept by the last gc: the next runs when the store is much larger

	// countIdx is count's position index, reused across calls (engine calls are serialised):
	// sized by the largest node id, allocating it per count dominated an analysis's garbage.
	countIdx []int32
	// Scratch reused by every reachable and count call, so that a call costs the diagram it
	// walks and not the size of the store: seen is a bitmap over node ids, all clear between
	// calls; order, stack and small are buffers.
	seen         []uint64
	order, stack []int32
	small        []uint64
}

const (
	zero     int32 = 0
	one      int32 = 1
	terminal int32 = math.MaxInt32 // the level of the terminals: below every variable
	unknown  int32 = -1
)

type znode struct {
	v      int32 // variable rank; smaller ranks are nearer the root
	lo, hi int32 // sets without v; sets with v (v removed)
	// min is the id of minimal(this node) once known: an exact per-node memo, so that a deep chain
	// of gates never re-minimises what an earlier gate already minimised.
	min      int32
	last     int32 // the largest rank in any set of the family (-1 for the terminals)
	hasEmpty bool  // the family holds the empty set (follow lo to 1)
}

func newZBDD() *zbdd {
	z := &zbdd{
		nodes:  []znode{{v: terminal, min: zero, last: -1}, {v: terminal, min: one, last: -1, hasEmpty: true}},
		unique: make([]int32, 1<<12),
	}
	z.union.init(1 << 14)
	z.product.init(1 << 14)
	z.without.init(1 << 14)
	z.minProduct.init(1 << 14)
	z.diff.init(1 << 14)
	return z
}

func hash3(v, lo, hi int32) uint64 {
	h := uint64(uint32(v))*0x9E3779B97F4A7C15 ^ uint64(uint32(lo))*0xC2B2AE3D27D4EB4F ^ uint64(uint32(hi))*0x165667B19E3779F9
	return h ^ h>>29
}

// mk returns the canonical node (v, lo, hi), applying the zero-suppression rule.
func (z *zbdd) mk(v, lo, hi int32) int32 {
	if hi == zero {
		return lo
	}
	mask := uint64(len(z.unique) - 1)
	for i := hash3(v, lo, hi) & mask; ; i = (i + 1) & mask {
		id := z.unique[i]
		if id == 0 {
			break
		}
		n := &z.nodes[id]
		if n.v == v && n.lo == lo && n.hi == hi {
			return id
		}
	}
	id := int32(len(z.nodes))
	last := max(v, z.nodes[lo].last, z.nodes[hi].last)
	if len(z.nodes) == cap(z.nodes) {
		z.growNodes()
	}
	z.nodes = append(z.nodes, znode{v: v, lo: lo, hi: hi, min: unknown, last: last, hasEmpty: z.nodes[lo].hasEmpty})
	z.insert(id)
	z.used++
	if z.used*2 > len(z.unique) {
		z.grow()
	}
	return id
}

// growNodes doubles the node store's capacity, as append would, on huge pages when large.
func (z *zbdd) growNodes() {
	nodes := make([]znode, len(z.nodes), max(2*cap(z.nodes), 1024))
	adviseHuge(unsafe.Pointer(&nodes[:1][0]), uintptr(cap(nodes))*unsafe.Sizeof(znode{}))
	copy(nodes, z.nodes)
	z.nodes = nodes
}

func (z *zbdd) insert(id int32) {
	n := z.nodes[id]
	mask := uint64(len(z.unique) - 1)
	i := hash3(n.v, n.lo, n.hi) & mask
	for z.unique[i] != 0 {
		i = (i + 1) & mask
	}
	z.unique[i] = id
}

func (z *zbdd) grow() {
	z.unique = make([]int32, len(z.unique)*2)
	adviseHuge(unsafe.Pointer(&z.unique[0]), uintptr(len(z.unique))*4)
	for id := int32(2); id < int32(len(z.nodes)); id++ {
		z.insert(id)
	}
	// The operation caches are lossy; keep them about as large as the store, up to a bound, so
	// that memory stays proportional to the diagram and not to the number of operations.
	if want := len(z.unique); want > len(z.union.e) && want <= maxCache {
		z.union.init(want)
		z.product.init(want)
		z.without.init(want)
		z.minProduct.init(want)
		z.diff.init(want)
	}
}

// maxCache bounds each operation cache (12 bytes an entry). Smaller caches stay nearer the
// processor's caches and were 10-20% faster on the 2.3-million-cut-set model at 2^18, but on
// a larger generated model (pathgen -gates 250 -events 500 -layers 10 -seed 4, 41 million
// cut sets) the lost results cost 1.8x the time: the recomputation, not the probes, dominates.
const maxCache = 1 << 20

// opCache is a direct-mapped, lossy memo of a binary operation (as in CUDD and SCRAM): bounded
// memory, and a lost entry only costs recomputation.
type opCache struct {
	e    []cacheEntry
	mask uint64
}

type cacheEntry struct{ a, b, r int32 }

func (c *opCache) init(n int) {
	c.e = make([]cacheEntry, n)
	adviseHuge(unsafe.Pointer(&c.e[0]), uintptr(n)*unsafe.Sizeof(cacheEntry{}))
	for i := range c.e {
		c.e[i].a = unknown
	}
	c.mask = uint64(n - 1)
}

func (c *opCache) slot(a, b int32) *cacheEntry {
	h := uint64(uint32(a))*0x9E3779B97F4A7C15 ^ uint64(uint32(b))*0xC2B2AE3D27D4EB4F
	return &c.e[(h^h>>31)&c.mask]
}

func (c *opCache) get(a, b int32) (int32, bool) {
	s := c.slot(a, b)
	if s.a == a && s.b == b {
		return s.r, true
	}
	return 0, false
}

func (c *opCache) put(a, b, r int32) {
	*c.slot(a, b) = cacheEntry{a, b, r}
}

// Union returns f ∪ g.
func (z *zbdd) Union(f, g int32) int32 {
	switch {
	case f == zero:
		return g
	case g == zero, f == g:
		return f
	}
	if f > g {
		f, g = g, f
	}
	if r, ok := z.union.get(f, g); ok {
		return r
	}
	F, G := z.nodes[f], z.nodes[g]
	var r int32
	switch {
	case F.v < G.v:
		r = z.mk(F.v, z.Union(F.lo, g), F.hi)
	case F.v > G.v:
		r = z.mk(G.v, z.Union(f, G.lo), G.hi)
	default:
		lo := z.Union(F.lo, G.lo)
		r = z.mk(F.v, lo, z.Union(F.hi, G.hi))
	}
	z.union.put(f, g, r)
	return r
}

// Product returns {a ∪ b : a ∈ f, b ∈ g} (the join of an AND gate).
func (z *zbdd) Product(f, g int32) int32 {
	switch {
	case f == zero || g == zero:
		return zero
	case f == one:
		return g
	case g == one:
		return f
	}
	if f > g {
		f, g = g, f
	}
	if r, ok := z.product.get(f, g); ok {
		return r
	}
	F, G := z.nodes[f], z.nodes[g]
	var r int32
	switch {
	case F.v < G.v:
		lo := z.Product(F.lo, g)
		r = z.mk(F.v, lo, z.Product(F.hi, g))
	case F.v > G.v:
		lo := z.Product(f, G.lo)
		r = z.mk(G.v, lo, z.Product(f, G.hi))
	default:
		lo := z.Product(F.lo, G.lo)
		a := z.Product(F.lo, G.hi)
		b := z.Product(F.hi, G.lo)
		c := z.Product(F.hi, G.hi)
		r = z.mk(F.v, lo, z.Union(z.Union(a, b), c))
	}
	z.product.put(f, g, r)
	return r
}

// MinProduct returns Minimal(Product(f, g)) for antichains f and g, keeping every intermediate
// result minimal (Rauzy): the plain product of two families of thousands of sets has millions
// of non-minimal sets that minimisation would only remove again. With f = v.f1 + f0 and
// g = v.g1 + g0, the sets without v are min(f0 × g0); the sets with v are those of
// min(f1 × (g0 ∪ g1) ∪ f0 × g1) that no set without v is inside. Operands with no variable in
// common need no minimisation at all.
func (z *zbdd) MinProduct(f, g int32) int32 {
	switch {
	case f == zero || g == zero:
		return zero
	case f == one:
		return g
	case g == one:
		return f
	case f == g:
		return f
	}
	if f > g {
		f, g = g, f
	}
	if F, G := &z.nodes[f], &z.nodes[g]; F.last < G.v || G.last < F.v {
		// No variable in common: every product of two minimal sets is minimal.
		r := z.Product(f, g)
		if r > one {
			z.nodes[r].min = r
		}
		return r
	}
	if r, ok := z.minProduct.get(f, g); ok {
		return r
	}
	F, G := z.nodes[f], z.nodes[g]
	var v, lo, hi int32
	switch {
	case F.v < G.v:
		v = F.v
		lo = z.MinProduct(F.lo, g)
		hi = z.Without(z.MinProduct(F.hi, g), lo)
	case F.v > G.v:
		v = G.v
		lo = z.MinProduct(f, G.lo)
		hi = z.Without(z.MinProduct(f, G.hi), lo)
	default:
		v = F.v
		lo = z.MinProduct(F.lo, G.lo)
		// The sets with v come from f1 × g1, f1 × g0 and f0 × g1, as SCRAM computes them:
		// (f0 ∪ f1) × (g0 ∪ g1) would build the sets of f0 × g0 again only to remove them.
		// Each part loses its supersets of lo before the union, which then has less to compare.
		hi = z.MinUnion(z.Without(z.MinProduct(F.hi, z.MinUnion(G.lo, G.hi)), lo), z.Without(z.MinProduct(F.lo, G.hi), lo))
	}
	r := z.mk(v, lo, hi)
	if r > one {
		z.nodes[r].min = r
	}
	z.minProduct.put(f, g, r)
	return r
}

// Without returns the sets of p that are not supersets of any set of q (subsumption removal).
func (z *zbdd) Without(p, q int32) int32 {
	if p == zero || p == q {
		return zero
	}
	if p == one {
		if q != zero && z.nodes[q].hasEmpty {
			return zero
		}
		return one
	}
	P := &z.nodes[p]
	for {
		switch {
		case q == zero:
			return p
		case p == q, z.nodes[q].hasEmpty:
			return zero
		}
		Q := &z.nodes[q]
		if P.last < Q.v || Q.last < P.v {
			// Every set of q holds a variable no set of p holds: none is a subset.
			return p
		}
		if P.v <= Q.v {
			break
		}
		// Sets of q holding Q.v cannot be subsets of sets of p, which never hold it: walk
		// down q's lo chain without a cache lookup per step.
		q = Q.lo
	}
	if r, ok := z.without.get(p, q); ok {
		return r
	}
	pv, plo, phi := P.v, P.lo, P.hi
	Q := z.nodes[q]
	var r int32
	if pv < Q.v {
		lo := z.Without(plo, q)
		r = z.mk(pv, lo, z.Without(phi, q))
	} else {
		lo := z.Without(plo, Q.lo)
		r = z.mk(pv, lo, z.Without(z.Without(phi, Q.lo), Q.hi))
	}
	z.without.put(p, q, r)
	return r
}

// Minimal returns the sets of f that have no proper subset in f.
func (z *zbdd) Minimal(f int32) int32 {
	if f <= one {
		return f
	}
	if m := z.nodes[f].min; m != unknown {
		return m
	}
	F := z.nodes[f]
	lo := z.Minimal(F.lo)
	hi := z.Without(z.Minimal(F.hi), lo)
	r := z.mk(F.v, lo, hi)
	z.nodes[f].min = r
	z.nodes[r].min = r
	return r
}

// MinUnion returns Minimal(f ∪ g) for antichains f and g without minimising the whole union:
// keep g's sets no set of f is inside, then f's sets none of those is inside.
func (z *zbdd) MinUnion(f, g int32) int32 {
	a := z.Without(g, f)
	b := z.Without(f, a)
	r := z.Union(a, b)
	if r > one {
		z.nodes[r].min = r
	}
	return r
}

// reachable returns the non-terminal nodes reachable from f, ascending (children first), in a
// new slice.
func (z *zbdd) reachable(f int32) []int32 {
	return z.reachableInto(f, nil)
}

// reachableInto appends to out the non-terminal nodes reachable from f, ascending (children
// first). It costs the nodes it reaches (and their sorting), not the size of the store: the
// seen bitmap is kept across calls and only the bits it set are cleared again.
func (z *zbdd) reachableInto(f int32, out []int32) []int32 {
	if f <= one {
		return out
	}
	if need := len(z.nodes)/64 + 1; len(z.seen) < need {
		z.seen = append(z.seen, make([]uint64, need-len(z.seen))...)
	}
	seen := z.seen
	start := len(out)
	seen[f/64] |= 1 << (f % 64)
	out = append(out, f)
	stack := append(z.stack[:0], f)
	for len(stack) > 0 {
		n := z.nodes[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		for _, c := range [2]int32{n.lo, n.hi} {
			if c <= one || seen[c/64]&(1<<(c%64)) != 0 {
				continue
			}
			seen[c/64] |= 1 << (c % 64)
			out = append(out, c)
			stack = append(stack, c)
		}
	}
	z.stack = stack
	for _, id := range out[start:] {
		seen[id/64] &^= 1 << (id % 64)
	}
	slices.Sort(out[start:])
	return out
}

// count returns the number of sets of f that hold no variable for which skip is true
// (skip may be nil). Linear in the diagram; uint64 until a sum overflows, then big.Int.
func (z *zbdd) count(f int32, skip []bool) *big.Int {
	if f <= one {
		return big.NewInt(int64(f))
	}
	z.order = z.reachableInto(f, z.order[:0])
	return z.countOrder(z.order, skip)
}

// index sets z.countIdx[id] to id's position in order for every id of order and returns the
// index. Every id read through it must be in order; the entries of other ids are stale.
func (z *zbdd) index(order []int32) []int32 {
	need := int(order[len(order)-1]) + 1
	if cap(z.countIdx) < need {
		// Grow geometrically: the largest id grows a little with each new family, and a copy
		// sized by the store for each of them would make many counts quadratic.
		z.countIdx = make([]int32, need, max(need, 2*cap(z.countIdx)))
	}
	idx := z.countIdx[:need]
	for i, id := range order {
		idx[id] = int32(i)
	}
	return idx
}

// countOrder is count over order, the nodes reachable from the family's root as reachable
// lists them (non-empty).
func (z *zbdd) countOrder(order []int32, skip []bool) *big.Int {
	// Every id read below is in order (children of reachable nodes are reachable), so the
	// reused index needs no clearing.
	idx := z.index(order)
	if cap(z.small) < len(order) {
		z.small = make([]uint64, len(order))
	}
	small := z.small[:len(order)]
	val := func(id int32) uint64 {
		if id <= one {
			return uint64(id)
		}
		return small[idx[id]]
	}
	overflow := false
	for i, id := range order {
		n := z.nodes[id]
		s := val(n.lo)
		if skip == nil || !skip[n.v] {
			var c uint64
			s, c = bits.Add64(s, val(n.hi), 0)
			if c != 0 {
				overflow = true
				break
			}
		}
		small[i] = s
	}
	if !overflow {
		return new(big.Int).SetUint64(small[len(small)-1])
	}
	large := make([]*big.Int, len(order))
	bval := func(id int32) *big.Int {
		if id <= one {
			return big.NewInt(int64(id))
		}
		return large[idx[id]]
	}
	for i, id := range order {
		n := z.nodes[id]
		s := new(big.Int).Set(bval(n.lo))
		if skip == nil || !skip[n.v] {
			s.Add(s, bval(n.hi))
		}
		large[i] = s
	}
	return large[len(large)-1]
}

// Diff returns the sets of f that are not sets of g.
func (z *zbdd) Diff(f, g int32) int32 {
	switch {
	case f == zero || f == g:
		return zero
	case g == zero:
		return f
	}
	if r, ok := z.diff.get(f, g); ok {
		return r
	}
	F, G := z.nodes[f], z.nodes[g]
	var r int32
	switch {
	case F.v < G.v:
		r = z.mk(F.v, z.Diff(F.lo, g), F.hi)
	case F.v > G.v:
		r = z.Diff(f, G.lo)
	default:
		lo := z.Diff(F.lo, G.lo)
		r = z.mk(F.v, lo, z.Diff(F.hi, G.hi))
	}
	z.diff.put(f, g, r)
	return r
}

// MinProductSplit is MinProduct for the operands of a gate (antichains f and g). A set a of f
// that holds a set b of g is itself a set of the product (a ∪ b = a), minimal, and subsumes
// every other product a ∪ b'; likewise for g. So with f* and g* those sets and f', g' the rest:
// min(f × g) = M ∪ (min(f' × g') without supersets of M), M = min(f* ∪ g*), and no set of the
// second part is inside a set of M (it would be inside a set of f or of g). Sibling gates
// that share subtrees have many such sets; taking them out first keeps the product from
// building, and then removing, their many supersets.
func (z *zbdd) MinProductSplit(f, g int32) int32 {
	if f <= one || g <= one || f == g {
		return z.MinProduct(f, g)
	}
	fr := z.Without(f, g)
	gr := z.Without(g, f)
	if fr == f && gr == g {
		return z.MinProduct(f, g)
	}
	m := z.MinUnion(z.Diff(f, fr), z.Diff(g, gr))
	x := z.Without(z.MinProduct(fr, gr), m)
	r := z.Union(m, x)
	if r > one {
		z.nodes[r].min = r
	}
	return r
}
