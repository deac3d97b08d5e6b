// Package benchcpu reports process CPU time per benchmark op beside ns/op, because the
// benchmark machine is shared: wall time per op there measures the neighbours too.
package benchcpu

import (
	"syscall"
	"testing"
	"time"
)

// Now is the process's user+sys CPU time so far.
func Now(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Report adds the CPU time since start, per op, as the metric cpu-ns/op.
func Report(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(Now(b)-start)/float64(b.N), "cpu-ns/op")
}
