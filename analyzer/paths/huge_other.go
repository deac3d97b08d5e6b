//go:build !linux

package paths

import "unsafe"

// adviseHuge is a no-op off Linux (see huge_linux.go).
func adviseHuge(p unsafe.Pointer, size uintptr) {}
