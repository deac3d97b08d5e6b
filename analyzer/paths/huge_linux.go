//go:build linux

package paths

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks Linux to back a large table with transparent huge pages: the diagram
// operations probe their tables at random, and with 4 KiB pages most probes miss the TLB.
func adviseHuge(p unsafe.Pointer, size uintptr) {
	const huge = 2 << 20
	if size < 2*huge {
		return
	}
	start := (uintptr(p) + huge - 1) &^ (huge - 1)
	end := (uintptr(p) + size) &^ (huge - 1)
	if end <= start {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, start-uintptr(p))), end-start)
	_ = syscall.Madvise(b, syscall.MADV_HUGEPAGE) // an error (no THP support) only costs speed
}
