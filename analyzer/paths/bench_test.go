package paths

import (
	"fmt"
	"math/big"
	"path/filepath"
	"testing"
)

// benchModel is one model for the benchmarks: built in memory, or imported from Open-PSA XML
// before the timer starts.
type benchModel struct {
	name  string
	nodes []Node
	goals []int
}

func importedModel(b *testing.B, file string) (benchModel, bool) {
	tree, err := importFile(file)
	if err != nil {
		return benchModel{}, false
	}
	m, goals := treeModel(tree)
	return benchModel{filepath.Base(file), m.Nodes, goals}, true
}

// benchModels are SCRAM's biggest example models the importer accepts, the generated layered
// models of testdata (written by bench/cmd/pathgen, whose test checks they are its output:
// hundreds of gates, 10^5 to 10^10 minimal cut sets; gen-G-E-L-S.xml is -gates G -events E
// -layers L -seed S), and in-memory shapes.
func benchModels(b *testing.B) []benchModel {
	var ms []benchModel
	for _, f := range []string{"Baobab/baobab1.xml", "Baobab/baobab2.xml", "Chinese/chinese.xml", "Lift/lift.xml"} {
		if m, ok := importedModel(b, filepath.Join(scramInput, f)); ok {
			ms = append(ms, m)
		}
	}
	gen, _ := filepath.Glob("testdata/gen-*.xml")
	for _, f := range gen {
		m, ok := importedModel(b, f)
		if !ok {
			b.Fatalf("%s does not import", f)
		}
		ms = append(ms, m)
	}
	ms = append(ms,
		benchModel{"and-of-100-ors (2^100 paths)", andOfOrs(100), []int{0}},
		benchModel{"or-chain-100000", chain(100_000, Or, true), []int{0}},
	)
	return ms
}

// BenchmarkCount builds the engine and counts the minimal cut sets of every goal.
func BenchmarkCount(b *testing.B) {
	for _, m := range benchModels(b) {
		b.Run(m.name, func(b *testing.B) {
			var paths *big.Int
			for b.Loop() {
				e, err := New(Model{Nodes: m.nodes})
				if err != nil {
					b.Fatal(err)
				}
				paths = new(big.Int)
				for _, g := range m.goals {
					paths.Add(paths, e.Count(g))
				}
			}
			f, _ := new(big.Float).SetInt(paths).Float64()
			b.ReportMetric(f, "paths")
		})
	}
}

// BenchmarkEnumerateCapped lists the first 10 paths of a built engine: the cost and memory must
// not depend on how many paths there are.
func BenchmarkEnumerateCapped(b *testing.B) {
	for _, m := range benchModels(b) {
		e, err := New(Model{Nodes: m.nodes})
		if err != nil {
			b.Fatal(err)
		}
		for _, g := range m.goals {
			e.Count(g)
		}
		b.Run(m.name, func(b *testing.B) {
			for b.Loop() {
				for _, g := range m.goals {
					e.Enumerate(g, func(l int) bool { return l%7 == 0 }, 10, func([]int) bool { return true })
				}
			}
		})
	}
}

func ExampleEngine_Enumerate() {
	// goal = AND(or(a, b), 2-of-3(c, d, e)); a, b, c, d, e are nodes 2, 3, 5, 6, 7.
	e, err := New(Model{Nodes: []Node{
		{Op: And, Children: []int{1, 4}},
		{Op: Or, Children: []int{2, 3}},
		{Op: Leaf}, {Op: Leaf},
		{Op: AtLeast, K: 2, Children: []int{5, 6, 7}},
		{Op: Leaf}, {Op: Leaf}, {Op: Leaf},
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("paths:", e.Count(0))
	blocked := func(leaf int) bool { return leaf == 5 } // c is blocked
	shown, open := e.Enumerate(0, blocked, 1, func(leaves []int) bool {
		fmt.Println("open:", leaves)
		return true
	})
	fmt.Printf("showed %d of %v open paths\n", shown, open)
	// Output:
	// paths: 6
	// open: [2 6 7]
	// showed 1 of 2 open paths
}
