// Command pathcount imports an Open-PSA MEF file and prints the number of minimal cut sets
// (minimal attack paths) of each top gate, one "name count" line per gate, as bench/paths.sh
// compares with SCRAM. It stands in for a threatcov command until the CLI has one.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/threatcov/threatcov/analyzer/paths"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/attacktrees/openpsa"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pathcount", flag.ContinueOnError)
	fs.SetOutput(stderr)
	show := fs.Int("show", 0, "also list the first N minimal cut sets of each goal, shortest first")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: pathcount [-show N] MODEL.xml")
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer f.Close()
	t, err := openpsa.Import(f, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	m, goals := model(t)
	e, err := paths.New(m)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	for _, g := range goals {
		fmt.Fprintf(stdout, "%s %v\n", t.Nodes[g].ID, e.Count(g))
		if *show > 0 {
			e.Enumerate(g, nil, *show, func(leaves []int) bool {
				for i, l := range leaves {
					if i > 0 {
						fmt.Fprint(stdout, " ")
					}
					fmt.Fprint(stdout, t.Nodes[l].ID)
				}
				fmt.Fprintln(stdout)
				return true
			})
		}
	}
	return 0
}

// model turns an imported tree into the engine's model: node i is t.Nodes[i].
func model(t *attacktrees.Tree) (paths.Model, []int) {
	idx := make(map[string]int, len(t.Nodes))
	for i, n := range t.Nodes {
		idx[n.ID] = i
	}
	m := paths.Model{Nodes: make([]paths.Node, len(t.Nodes))}
	var goals []int
	for i, n := range t.Nodes {
		if n.Kind == attacktrees.KindGoal {
			goals = append(goals, i)
		}
		if len(n.Children) == 0 {
			continue // a leaf: the zero Node
		}
		pn := paths.Node{Op: paths.Or}
		switch {
		case n.Kind == attacktrees.KindAnd || n.Gate == attacktrees.GateAnd:
			pn.Op = paths.And
		case n.Kind == attacktrees.KindAtLeast || n.Gate == attacktrees.GateAtLeast:
			pn.Op, pn.K = paths.AtLeast, n.K
		}
		for _, c := range n.Children {
			pn.Children = append(pn.Children, idx[c])
		}
		m.Nodes[i] = pn
	}
	return m, goals
}
