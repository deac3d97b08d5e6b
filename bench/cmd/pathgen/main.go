// Command pathgen writes a deterministic random fault tree as Open-PSA MEF XML, for comparing
// threatcov's path engine with SCRAM on the same model (bench/paths.sh). The model is layered:
// gate i takes 2-4 arguments among the gates of the next layer and the basic events, so
// gates share subtrees and basic events the way real trees do; gates alternate between OR and
// AND by layer, with some 2-of-3 votes. Arguments are drawn near the gate's place in its layer
// so that sharing is local. The same flags always give the same file.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pathgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	gates := fs.Int("gates", 300, "number of gates")
	events := fs.Int("events", 200, "number of basic events")
	layers := fs.Int("layers", 8, "number of gate layers")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *gates < *layers || *layers < 1 || *events < 4 {
		fmt.Fprintln(stderr, "usage: pathgen [-gates N] [-events M] [-layers L] [-seed S] > model.xml")
		return 2
	}
	w := bufio.NewWriter(stdout)
	write(w, *gates, *events, *layers, *seed)
	if err := w.Flush(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func write(w io.Writer, gates, events, layers int, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x7472656573))
	// layerOf[g]: gate 0 alone on layer 0, the rest spread evenly.
	layerOf := make([]int, gates)
	for g := 1; g < gates; g++ {
		layerOf[g] = 1 + (g-1)*(layers-1)/max(gates-1, 1)
	}
	used := make([]bool, events)
	type gate struct {
		op   string
		args []string
	}
	defs := make([]gate, gates)
	referenced := make([]bool, gates)
	firstOfLayer := func(l int) int {
		for g := range gates {
			if layerOf[g] >= l {
				return g
			}
		}
		return gates
	}
	// pos places a gate in [0, 1) across its layer; arguments are drawn near the gate's place,
	// so subtrees overlap with their neighbours only, as in real trees, instead of every gate
	// sharing with every other.
	pos := func(g int) float64 {
		lo, hi := firstOfLayer(layerOf[g]), firstOfLayer(layerOf[g]+1)
		return (float64(g-lo) + 0.5) / float64(hi-lo)
	}
	near := func(p float64, n, spread int) int {
		i := int(p*float64(n)) + r.IntN(2*spread+1) - spread
		return min(max(i, 0), n-1)
	}
	for g := range gates {
		lo, hi := firstOfLayer(layerOf[g]+1), firstOfLayer(layerOf[g]+2)
		n := 2 + r.IntN(3)
		seen := map[string]bool{}
		var args []string
		for len(args) < n {
			var a string
			if lo < hi && r.IntN(4) > 0 {
				c := lo + near(pos(g), hi-lo, 2)
				referenced[c] = true
				a = fmt.Sprintf("<gate name=\"G%d\"/>", c)
			} else {
				e := near(pos(g), events, 3)
				used[e] = true
				a = fmt.Sprintf("<basic-event name=\"E%d\"/>", e)
			}
			if !seen[a] {
				seen[a] = true
				args = append(args, a)
			}
		}
		op := "or"
		switch {
		case layerOf[g]%2 == 1 && r.IntN(6) == 0 && len(args) >= 3:
			op = "atleast"
		case layerOf[g]%2 == 1:
			op = "and"
		}
		defs[g] = gate{op, args}
	}
	// One top gate: hang every gate nobody references under a gate of the layer above.
	for g := 1; g < gates; g++ {
		if !referenced[g] {
			lo, hi := firstOfLayer(layerOf[g]-1), firstOfLayer(layerOf[g])
			p := lo + r.IntN(hi-lo)
			defs[p].args = append(defs[p].args, fmt.Sprintf("<gate name=\"G%d\"/>", g))
		}
	}
	fmt.Fprintf(w, "<?xml version=\"1.0\"?>\n<opsa-mef>\n<define-fault-tree name=\"generated-%d-%d-%d-%d\">\n", gates, events, layers, seed)
	for g, d := range defs {
		fmt.Fprintf(w, "<define-gate name=\"G%d\">", g)
		if d.op == "atleast" {
			fmt.Fprint(w, "<atleast min=\"2\">")
		} else {
			fmt.Fprintf(w, "<%s>", d.op)
		}
		for _, a := range d.args {
			fmt.Fprint(w, a)
		}
		fmt.Fprintf(w, "</%s></define-gate>\n", d.op)
	}
	for e := range events {
		if used[e] {
			fmt.Fprintf(w, "<define-basic-event name=\"E%d\"><float value=\"0.01\"/></define-basic-event>\n", e)
		}
	}
	fmt.Fprint(w, "</define-fault-tree>\n</opsa-mef>\n")
}
