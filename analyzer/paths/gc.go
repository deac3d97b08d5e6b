package paths

import "unsafe"

// gc keeps the nodes reachable from roots (ids of families still needed) and drops the rest,
// renumbering in ascending order so that children still have smaller ids than parents. It
// rewrites roots in place, rebuilds the unique table and empties the operation caches. Product
// and minimisation leave many intermediate nodes behind; without this, memory would grow with
// the work done rather than with the diagrams kept.
func (z *zbdd) gc(roots []int32) {
	live := make([]bool, len(z.nodes))
	live[zero], live[one] = true, true
	var stack []int32
	for _, r := range roots {
		if r >= 0 && !live[r] {
			live[r] = true
			stack = append(stack, r)
		}
	}
	for len(stack) > 0 {
		n := z.nodes[stack[len(stack)-1]]
		stack = stack[:len(stack)-1]
		for _, c := range [2]int32{n.lo, n.hi} {
			if !live[c] {
				live[c] = true
				stack = append(stack, c)
			}
		}
	}
	newID := make([]int32, len(z.nodes))
	kept := z.nodes[:2]
	newID[zero], newID[one] = zero, one
	for id := 2; id < len(z.nodes); id++ {
		if !live[id] {
			newID[id] = unknown
			continue
		}
		n := z.nodes[id]
		n.lo, n.hi = newID[n.lo], newID[n.hi]
		newID[id] = int32(len(kept))
		kept = append(kept, n)
	}
	// min may point at a dead node, or at a live one further up: remap after numbering.
	for i := 2; i < len(kept); i++ {
		if m := kept[i].min; m != unknown {
			kept[i].min = newID[m]
		}
	}
	z.nodes = kept
	for i, r := range roots {
		if r >= 0 {
			roots[i] = newID[r]
		}
	}
	size := 1 << 12
	for size < 2*len(kept) {
		size *= 2
	}
	z.unique = make([]int32, size)
	adviseHuge(unsafe.Pointer(&z.unique[0]), uintptr(size)*4)
	z.used = len(kept) - 2
	for id := int32(2); id < int32(len(kept)); id++ {
		z.insert(id)
	}
	n := min(max(size, 1<<14), maxCache)
	z.union.init(n)
	z.product.init(n)
	z.without.init(n)
	z.minProduct.init(n)
	z.diff.init(n)
	z.liveAfterGC = len(kept)
}
