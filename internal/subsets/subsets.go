// Package subsets enumerates the subsets of a given size of {0, ..., n-1}, for the exhaustive
// smallest-set searches (the analyzer's recommendations, the remedies plan). Cost: C(n, size)
// subsets, O(size) each.
package subsets

import "iter"

// OfSize yields every size-element subset of {0, ..., n-1} as sorted indexes, in
// lexicographic order (so lower-numbered elements come first). The yielded slice is reused:
// copy it to keep it.
func OfSize(n, size int) iter.Seq[[]int] {
	return func(yield func([]int) bool) {
		if size < 0 || size > n {
			return
		}
		idx := make([]int, size)
		for i := range idx {
			idx[i] = i
		}
		for {
			if !yield(idx) {
				return
			}
			i := size - 1
			for i >= 0 && idx[i] == n-size+i {
				i--
			}
			if i < 0 {
				return
			}
			idx[i]++
			for j := i + 1; j < size; j++ {
				idx[j] = idx[j-1] + 1
			}
		}
	}
}
