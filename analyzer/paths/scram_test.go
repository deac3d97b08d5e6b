package paths

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/attacktrees/openpsa"
	"github.com/threatcov/threatcov/internal/scramtest"
	"github.com/threatcov/threatcov/internal/testenv"
)

// SCRAM (Debian package scram) is the independent engine the path counts are checked against.
const scramInput = "/usr/share/scram/input"

// writeOpenPSA writes the part of a fixture model reachable from root as an Open-PSA fault
// tree whose only top gate is g<root>, in the shapes SCRAM accepts (no one-argument and/or, no
// repeated argument, 1 < atleast min < arguments). ok is false when the model has no such form.
func writeOpenPSA(nodes []Node, root int) (doc string, ok bool) {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<opsa-mef>\n<define-fault-tree name=\"fixture\">\n")
	ref := func(c int) string {
		if nodes[c].Op == Leaf {
			return fmt.Sprintf("<basic-event name=\"e%d\"/>", c)
		}
		return fmt.Sprintf("<gate name=\"g%d\"/>", c)
	}
	seen := map[int]bool{root: true}
	stack := []int{root}
	var leaves []int
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := nodes[i]
		if n.Op == Leaf {
			leaves = append(leaves, i)
			continue
		}
		var args []string
		for _, c := range n.Children {
			r := ref(c)
			if slices.Contains(args, r) {
				if n.Op == AtLeast {
					return "", false
				}
				continue
			}
			args = append(args, r)
			if !seen[c] {
				seen[c] = true
				stack = append(stack, c)
			}
		}
		op := map[Op]string{And: "and", Or: "or", AtLeast: "atleast"}[n.Op]
		switch {
		case n.Op == AtLeast && n.K == len(args):
			op = "and"
		case n.Op == AtLeast && n.K == 1:
			op = "or"
		}
		fmt.Fprintf(&b, "<define-gate name=\"g%d\">", i)
		switch {
		case len(args) == 1:
			b.WriteString(args[0])
		case op == "atleast":
			fmt.Fprintf(&b, "<atleast min=\"%d\">%s</atleast>", n.K, strings.Join(args, ""))
		default:
			fmt.Fprintf(&b, "<%s>%s</%s>", op, strings.Join(args, ""), op)
		}
		b.WriteString("</define-gate>\n")
	}
	if nodes[root].Op == Leaf {
		return "", false
	}
	slices.Sort(leaves)
	for _, l := range leaves {
		fmt.Fprintf(&b, "<define-basic-event name=\"e%d\"><float value=\"0.1\"/></define-basic-event>\n", l)
	}
	b.WriteString("</define-fault-tree>\n</opsa-mef>\n")
	return b.String(), true
}

// TestFixturesAgainstSCRAM runs the fixture table, and random models, through SCRAM.
func TestFixturesAgainstSCRAM(t *testing.T) {
	bin := scramtest.Need(t)
	type model struct {
		name    string
		nodes   []Node
		root    int
		fixture bool
	}
	var models []model
	for _, f := range fixtures {
		models = append(models, model{f.name, f.nodes, f.root, true})
	}
	const randoms = 40
	r := rand.New(rand.NewPCG(7, 2026))
	for i := range randoms {
		models = append(models, model{fmt.Sprintf("random %d", i), randomModel(r, 4+r.IntN(12), 3+r.IntN(12)), 0, false})
	}
	// Counted apart: every fixture must go through SCRAM; a random model may have no form SCRAM
	// accepts, but most must.
	var ranFixtures, ranRandom int
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			doc, ok := writeOpenPSA(m.nodes, m.root)
			if !ok {
				t.Skip("SCRAM cannot express this model (a repeated argument of atleast)")
			}
			if m.fixture {
				ranFixtures++
			} else {
				ranRandom++
			}
			file := filepath.Join(t.TempDir(), "model.xml")
			if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			e, err := New(Model{Nodes: m.nodes})
			if err != nil {
				t.Fatal(err)
			}
			want := scramtest.Counts(t, bin, file)[fmt.Sprintf("g%d", m.root)]
			if got := e.Count(m.root); want == nil || got.Cmp(want) != 0 {
				t.Errorf("engine counts %v minimal cut sets, SCRAM %v\n%s", got, want, doc)
			}
			if got := int64(len(oracle(m.nodes, m.root))); want == nil || want.Int64() != got {
				t.Errorf("oracle counts %d minimal cut sets, SCRAM %v", got, want)
			}
		})
	}
	if ranFixtures != len(fixtures) {
		t.Errorf("only %d of %d fixtures went through SCRAM", ranFixtures, len(fixtures))
	}
	if ranRandom < randoms/2 {
		t.Errorf("only %d of %d random models went through SCRAM", ranRandom, randoms)
	}
}

// scramRejected is every SCRAM example model the importer refuses, with the reason; the test
// fails if the importer starts refusing another one or accepting one of these.
var scramRejected = map[string]string{
	"CEA9601/CEA9601.xml":                       "<not> is negation",
	"EventTrees/attack.xml":                     "event trees are not supported",
	"EventTrees/attack_alignment.xml":           "event trees are not supported",
	"EventTrees/bcd.xml":                        "event trees are not supported",
	"EventTrees/mef_example.xml":                "event trees are not supported",
	"EventTrees/gas_leak/gas_leak.xml":          "event trees are not supported",
	"EventTrees/gas_leak/gas_leak_reactive.xml": "event trees are not supported",
	"ThreeMotor/event_tree.xml":                 "event trees are not supported",
	"ThreeMotor/three_motor.xml":                "private role is not supported",
	"TwoTrain/common_cause.xml":                 "common-cause failure groups are not supported",
	"TwoTrain/config.xml":                       "root element is <scram>",
	"TwoTrain/event_tree.xml":                   "event trees are not supported",
	"TwoTrain/nondeclarative_substitutions.xml": "substitutions are not supported",
	"TwoTrain/substitutions.xml":                "substitutions are not supported",
	"TwoTrain/two_train_alignment.xml":          "event trees are not supported",
}

// TestSCRAMExamples imports every model SCRAM ships and, where the importer accepts it, checks
// that the engine's minimal cut set count of every top gate equals SCRAM's.
func TestSCRAMExamples(t *testing.T) {
	bin := scramtest.Need(t)
	var files []string
	err := filepath.WalkDir(scramInput, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".xml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		testenv.Missing(t, "SCRAM's example models are not in %s (%v): install the Debian package scram", scramInput, err)
	}
	compared, rejected := 0, map[string]string{}
	for _, file := range files {
		rel, _ := filepath.Rel(scramInput, file)
		tree, err := importFile(file)
		if err != nil {
			why := scramRejected[rel]
			if strings.Contains(err.Error(), "no gate defined") {
				continue // basic-event data for another model
			}
			rejected[rel] = why
			if why == "" || !strings.Contains(err.Error(), why) {
				t.Errorf("%s: importer refuses it: %v; expected %q", rel, err, why)
			} else {
				t.Logf("not compared, the importer refuses it: %v", err)
			}
			continue
		}
		if why, ok := scramRejected[rel]; ok {
			t.Errorf("%s: imported, but expected to be refused (%s)", rel, why)
		}
		t.Run(rel, func(t *testing.T) {
			m, goals := treeModel(tree)
			e, err := New(m)
			if err != nil {
				t.Fatal(err)
			}
			// The model's basic events may live in a companion file SCRAM needs.
			args := []string{file}
			companion := strings.TrimSuffix(file, ".xml") + "-basic-events.xml"
			if _, err := os.Stat(companion); err == nil {
				args = append(args, companion)
			}
			want := scramtest.Counts(t, bin, args...)
			got := map[string]*big.Int{}
			for _, g := range goals {
				got[scramName(tree.Nodes[g])] = e.Count(g)
			}
			if d := cmp.Diff(want, got, cmp.Comparer(func(a, b *big.Int) bool { return a.Cmp(b) == 0 })); d != "" {
				t.Errorf("minimal cut sets per top gate (-scram +threatcov):\n%s", d)
			}
			for name, n := range got {
				t.Logf("%s: %v minimal cut sets, as SCRAM", name, n)
			}
			compared++
		})
	}
	if d := cmp.Diff(scramRejected, rejected); d != "" {
		t.Errorf("refused models (-expected +refused):\n%s", d)
	}
	if compared < 8 {
		t.Errorf("compared %d SCRAM example models, want at least 8", compared)
	}
}

func importFile(file string) (*attacktrees.Tree, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return openpsa.Import(f, file)
}

// scramName is the original gate name the importer keeps at the start of the label.
func scramName(n *attacktrees.Node) string {
	name, _, _ := strings.Cut(n.Label, ": ")
	return name
}

// treeModel turns an imported tree into a model: node i is t.Nodes[i]; goals are the goals.
func treeModel(t *attacktrees.Tree) (Model, []int) {
	idx := make(map[string]int, len(t.Nodes))
	for i, n := range t.Nodes {
		idx[n.ID] = i
	}
	m := Model{Nodes: make([]Node, len(t.Nodes))}
	var goals []int
	for i, n := range t.Nodes {
		if n.Kind == attacktrees.KindGoal {
			goals = append(goals, i)
		}
		if len(n.Children) == 0 {
			continue
		}
		pn := Node{Op: Or}
		switch {
		case n.Kind == attacktrees.KindAnd || n.Gate == attacktrees.GateAnd:
			pn.Op = And
		case n.Kind == attacktrees.KindAtLeast || n.Gate == attacktrees.GateAtLeast:
			pn.Op, pn.K = AtLeast, n.K
		}
		for _, c := range n.Children {
			pn.Children = append(pn.Children, idx[c])
		}
		m.Nodes[i] = pn
	}
	return m, goals
}
