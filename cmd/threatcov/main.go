// Command threatcov reports which attack paths of a Kubernetes threat model remain open under
// the admission policies a cluster actually runs. See README.md and docs/cli.md.
package main

import (
	"os"
	"runtime/debug"
)

func main() {
	// A run is short and its live heap small next to what it allocates while loading and
	// evaluating, so the default GOGC=100 collects often for little: 200 takes ~11% off the
	// CPU of analyze for ~3% more peak memory on the CNCF catalog (~18% more at 100x, see
	// docs/performance.md). A GOGC set by the user wins.
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(200)
	}
	os.Exit(run(os.Args[1:], streams{in: os.Stdin, out: os.Stdout, err: os.Stderr}))
}
