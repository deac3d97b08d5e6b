// Command threatcov reports which attack paths of a Kubernetes threat model remain open under
// the admission policies a cluster actually runs. See README.md and docs/cli.md.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], streams{in: os.Stdin, out: os.Stdout, err: os.Stderr}))
}
