package paths

import (
	"math"
	"math/big"
)

// view is one family restricted to the sets that avoid skipped variables, with the smallest and
// largest set size below every node, so that searches for a given size prune without memory
// proportional to the number of sets.
type view struct {
	z      *zbdd
	skip   []bool
	idx    []int32
	minSz  []int32
	maxSz  []int32
	hasMem map[uint64]bool
}

const noSet = math.MaxInt32

// newView builds the view of the family whose reachable nodes are order (see reachable). Its
// index is the store's reused one: no count may run while the view is in use.
func newView(z *zbdd, order []int32, skip []bool) *view {
	v := &view{z: z, skip: skip, hasMem: map[uint64]bool{}}
	if len(order) == 0 {
		return v
	}
	v.idx = z.index(order)
	v.minSz = make([]int32, len(order))
	v.maxSz = make([]int32, len(order))
	for i, id := range order {
		n := z.nodes[id]
		lmin, lmax := v.bounds(n.lo)
		if !v.skipped(n.v) {
			if hmin, hmax := v.bounds(n.hi); hmin != noSet {
				lmin = min(lmin, hmin+1)
				if lmax == -1 || hmax+1 > lmax {
					lmax = hmax + 1
				}
			}
		}
		v.minSz[i], v.maxSz[i] = lmin, lmax
	}
	return v
}

func (v *view) skipped(r int32) bool { return v.skip != nil && v.skip[r] }

// bounds returns the smallest and largest set size of the restricted family at id, or
// (noSet, -1) when it is empty.
func (v *view) bounds(id int32) (int32, int32) {
	switch id {
	case zero:
		return noSet, -1
	case one:
		return 0, 0
	}
	i := v.idx[id]
	return v.minSz[i], v.maxSz[i]
}

// has reports whether the restricted family at id holds a set of exactly r elements. It walks
// lo-chains in a loop, so its recursion depth is at most r.
func (v *view) has(id int32, r int32) bool {
	var chain []int32
	result := false
	cur := id
	for {
		lo, hi := v.bounds(cur)
		if r < lo || r > hi {
			break
		}
		if r == lo || r == hi {
			result = true
			break
		}
		key := uint64(cur)<<32 | uint64(uint32(r))
		if m, ok := v.hasMem[key]; ok {
			result = m
			break
		}
		chain = append(chain, cur)
		n := v.z.nodes[cur]
		if !v.skipped(n.v) && v.has(n.hi, r-1) {
			result = true
			break
		}
		cur = n.lo
	}
	for _, c := range chain {
		v.hasMem[uint64(c)<<32|uint64(uint32(r))] = result
	}
	return result
}

// Enumerate streams the minimal cut sets of root that hold no blocked leaf (blocked may be
// nil): shortest first, sets of one size in lexicographic order of their leaves' ranks (see
// Rank), each set's leaves in ascending rank. It stops after max sets (max <= 0: no cap) or
// when yield returns false, and returns how many it yielded and how many there are in all.
// The slice passed to yield is reused: copy it to keep it. Memory is proportional to the
// diagram and the longest set, never to the number of sets.
func (e *Engine) Enumerate(root int, blocked func(leaf int) bool, max int, yield func(leaves []int) bool) (shown int, total *big.Int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.family(root)
	if f == zero {
		return 0, new(big.Int)
	}
	order := e.z.reachableInto(f, e.z.order[:0])
	e.z.order = order
	skip := e.skipOver(order, blocked)
	defer e.clearSkip()
	if f == one {
		total = big.NewInt(1)
	} else {
		total = e.z.countOrder(order, skip)
	}
	if total.Sign() == 0 {
		return 0, total
	}
	v := newView(e.z, order, skip)
	lo, hi := v.bounds(f)
	type frame struct {
		id    int32
		r     int32
		plen  int
		stage uint8
	}
	var (
		path   []int32
		leaves []int
		stack  []frame
	)
	for size := lo; size <= hi; size++ {
		if !v.has(f, size) {
			continue
		}
		stack = append(stack[:0], frame{id: f, r: size})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.id == one {
				leaves = leaves[:0]
				for _, r := range path[:top.plen] {
					leaves = append(leaves, e.leafAt[r])
				}
				shown++
				if !yield(leaves) || (max > 0 && shown >= max) {
					return shown, total
				}
				stack = stack[:len(stack)-1]
				continue
			}
			n := e.z.nodes[top.id]
			switch top.stage {
			case 0:
				// Sets holding the smallest variable come first: that is lexicographic order.
				top.stage = 1
				if !v.skipped(n.v) && v.has(n.hi, top.r-1) {
					path = append(path[:top.plen], n.v)
					stack = append(stack, frame{id: n.hi, r: top.r - 1, plen: top.plen + 1})
				}
			default:
				// The lo branch replaces its parent's frame, so the stack is as deep as the set
				// is long, not as long as the diagram's lo-chains.
				if v.has(n.lo, top.r) {
					*top = frame{id: n.lo, r: top.r, plen: top.plen}
				} else {
					stack = stack[:len(stack)-1]
				}
			}
		}
	}
	return shown, total
}

// SizeHistogram returns, for each set size, the number of minimal cut sets of root of that size
// that hold no blocked leaf (blocked may be nil). Cost: the diagram's size times the longest
// set's size, in big integers.
func (e *Engine) SizeHistogram(root int, blocked func(leaf int) bool) map[int]*big.Int {
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.family(root)
	out := map[int]*big.Int{}
	if f <= one {
		if f == one {
			out[0] = big.NewInt(1)
		}
		return out
	}
	order := e.z.reachable(f)
	skip := e.skipOver(order, blocked)
	defer e.clearSkip()
	idx := e.z.index(order)
	hist := make([][]*big.Int, len(order))
	get := func(id int32) []*big.Int {
		switch id {
		case zero:
			return nil
		case one:
			return []*big.Int{big.NewInt(1)}
		}
		return hist[idx[id]]
	}
	// Count how many parents still need each vector so it can be dropped after its last use.
	uses := make([]int32, len(order))
	for _, id := range order {
		n := e.z.nodes[id]
		for _, c := range [2]int32{n.lo, n.hi} {
			if c > one {
				uses[idx[c]]++
			}
		}
	}
	release := func(id int32) {
		if id > one {
			i := idx[id]
			if uses[i]--; uses[i] == 0 {
				hist[i] = nil
			}
		}
	}
	for i, id := range order {
		n := e.z.nodes[id]
		lo := get(n.lo)
		var hi []*big.Int
		if skip == nil || !skip[n.v] {
			hi = get(n.hi)
		}
		h := make([]*big.Int, max(len(lo), len(hi)+1))
		for s := range h {
			h[s] = new(big.Int)
			if s < len(lo) && lo[s] != nil {
				h[s].Add(h[s], lo[s])
			}
			if s >= 1 && s-1 < len(hi) && hi[s-1] != nil {
				h[s].Add(h[s], hi[s-1])
			}
		}
		hist[i] = h
		release(n.lo)
		release(n.hi)
	}
	for s, c := range hist[len(hist)-1] {
		if c.Sign() != 0 {
			out[s] = c
		}
	}
	return out
}
