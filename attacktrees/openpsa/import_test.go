package openpsa

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/xmltreetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

func importString(t *testing.T, doc, file string) (*attacktrees.Tree, error) {
	t.Helper()
	return Import(strings.NewReader(doc), file)
}

// TestGolden imports each testdata/*.xml, compares the tree as YAML with testdata/*.yaml, and
// checks that the YAML loads and validates as a tree file.
func TestGolden(t *testing.T) { xmltreetest.Golden(t, Import, *update) }

func TestTwoTreesShape(t *testing.T) {
	f, err := os.Open("testdata/two-trees.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tree, err := Import(f, "testdata/two-trees.xml")
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID, Kind, Gate string
		K              int
		Children       string
	}
	var got []row
	for _, n := range tree.Nodes {
		got = append(got, row{n.ID, string(n.Kind), string(n.Gate), n.K, strings.Join(n.Children, " ")})
	}
	p := func(s string) string { return "two-trees-" + s }
	want := []row{
		{p("stealsecrets"), "goal", "or", 0, p("etcdquorum") + " " + p("apiread") + " " + p("stealsecrets-argument-3")},
		{p("etcdquorum"), "atleast", "", 2, p("etcd-1") + " " + p("etcd-2") + " " + p("etcd-3")},
		{p("etcd-1"), "step", "", 0, ""},
		{p("etcd-2"), "step", "", 0, ""},
		{p("etcd-3"), "step", "", 0, ""},
		// the repeated RbacGetSecrets argument of the AND is listed once
		{p("apiread"), "and", "", 0, p("stolentoken") + " " + p("rbacgetsecrets")},
		{p("stolentoken"), "step", "", 0, ""},
		{p("rbacgetsecrets"), "step", "", 0, ""},
		{p("stealsecrets-argument-3"), "and", "", 0, p("node-root") + " " + p("stealsecrets-argument-3-argument-2")},
		{p("node-root"), "step", "", 0, ""},
		{p("stealsecrets-argument-3-argument-2"), "or", "", 0, p("kubelet-key") + " " + p("node-root-2")},
		{p("kubelet-key"), "step", "", 0, ""},
		{p("node-root-2"), "step", "", 0, ""}, // node_root: same sanitised name as Node.Root
		// a bare reference: the goal is reached through Exec
		{p("runcode"), "goal", "or", 0, p("exec")},
		{p("exec"), "or", "", 0, p("stolentoken") + " " + p("node-root")},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("nodes (-want +got):\n%s", d)
	}
	labels := map[string]string{}
	for _, n := range tree.Nodes {
		labels[n.ID] = n.Label
	}
	for id, want := range map[string]string{
		p("stealsecrets"): "StealSecrets: Read secrets from etcd or the API",
		p("stolentoken"):  "StolenToken: Steal a service account token",
		p("node-root-2"):  "node_root",
	} {
		if labels[id] != want {
			t.Errorf("label of %s = %q, want %q", id, labels[id], want)
		}
	}
	if tree.ID != "two-trees" || tree.Title != "Steal the cluster's secrets, Run_Code" {
		t.Errorf("tree id %q, title %q", tree.ID, tree.Title)
	}
}

const head = `<?xml version="1.0"?>
<opsa-mef>
<define-fault-tree name="ft">
`

func gateWith(formula string) string {
	return head + `<define-gate name="G1">
` + formula + `
</define-gate>
</define-fault-tree>
</opsa-mef>
`
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"not", gateWith(`<and><basic-event name="a"/><not><basic-event name="b"/></not></and>`),
			`m.xml:5: node "G1": <not> is negation: attack paths need a monotone formula (and, or, atleast); rewrite the gate without it`},
		{"xor", gateWith(`<xor><basic-event name="a"/><basic-event name="b"/></xor>`), `m.xml:5: node "G1": <xor> is exclusive or (a negation)`},
		{"nand", gateWith(`<nand><basic-event name="a"/><basic-event name="b"/></nand>`), `m.xml:5: node "G1": <nand> is not-and`},
		{"nor", gateWith(`<nor><basic-event name="a"/><basic-event name="b"/></nor>`), `m.xml:5: node "G1": <nor> is not-or`},
		{"iff", gateWith(`<iff><basic-event name="a"/><basic-event name="b"/></iff>`), `m.xml:5: node "G1": <iff> is equivalence`},
		{"imply", gateWith(`<imply><basic-event name="a"/><basic-event name="b"/></imply>`), `m.xml:5: node "G1": <imply> is implication`},
		{"nested not", gateWith("<or>\n<basic-event name=\"a\"/>\n<and><basic-event name=\"b\"/>\n<not><gate name=\"G1\"/></not></and></or>"), `m.xml:8: node "G1": <not> is negation`},
		{"cardinality", gateWith(`<cardinality min="1" max="1"><basic-event name="a"/></cardinality>`), `<cardinality> is a cardinality bound`},
		{"house event", gateWith(`<or><house-event name="h"/><basic-event name="a"/></or>`), `m.xml:5: node "G1": references house event "h"`},
		{"defined house event by event", head + `<define-house-event name="h"><constant value="true"/></define-house-event>
<define-gate name="G1"><or><event name="h"/><basic-event name="a"/></or></define-gate></define-fault-tree></opsa-mef>`, `m.xml:5: node "G1": references house event "h"`},
		{"constant", gateWith(`<or><constant value="true"/><basic-event name="a"/></or>`), `Boolean constants are not supported`},
		{"undefined gate", gateWith(`<or><gate name="Nope"/><basic-event name="a"/></or>`), `m.xml:5: node "G1": references gate "Nope", which is not defined: define it or fix the name`},
		{"gate as basic event", gateWith(`<or><basic-event name="G1"/><basic-event name="a"/></or>`), `references "G1" as a basic event, but it is a gate`},
		{"atleast without min", gateWith(`<atleast><basic-event name="a"/><basic-event name="b"/></atleast>`), `m.xml:5: node "G1": <atleast> has no min attribute`},
		{"atleast min too big", gateWith(`<atleast min="3"><basic-event name="a"/><basic-event name="b"/></atleast>`), `<atleast min="3"> needs 1 <= min <= 2`},
		{"atleast min zero", gateWith(`<atleast min="0"><basic-event name="a"/></atleast>`), `<atleast min="0"> needs 1 <= min <= 1`},
		{"atleast repeated argument", gateWith(`<atleast min="2"><basic-event name="a"/><basic-event name="a"/><basic-event name="b"/></atleast>`), `"a" is an argument of <atleast> twice`},
		{"empty and", gateWith(`<and></and>`), `m.xml:5: node "G1": <and> has no arguments`},
		{"no formula", gateWith(`<label>x</label>`), `m.xml:4: node "G1": gate has no formula`},
		{"two formulas", gateWith("<basic-event name=\"a\"/>\n<basic-event name=\"b\"/>"), `m.xml:6: node "G1": gate has more than one formula`},
		{"unknown formula", gateWith(`<or><switch/><basic-event name="a"/></or>`), `unknown formula <switch>`},
		{"gate twice", head + `<define-gate name="G1"><basic-event name="a"/></define-gate>
<define-gate name="G1"><basic-event name="b"/></define-gate></define-fault-tree></opsa-mef>`, `m.xml:5: node "G1": gate defined twice (first at line 4)`},
		{"cycle", head + `<define-gate name="Top"><gate name="A"/></define-gate>
<define-gate name="A"><and><gate name="B"/><basic-event name="x"/></and></define-gate>
<define-gate name="B"><or><gate name="A"/><basic-event name="y"/></or></define-gate></define-fault-tree></opsa-mef>`, `gates form a cycle: A -> B -> A`},
		{"no gates", `<opsa-mef><model-data><define-basic-event name="a"/></model-data></opsa-mef>`, `m.xml:1: no gate defined`},
		{"wrong root", `<adtree/>`, `m.xml:1: root element is <adtree>`},
		{"not xml", "this is not XML", `m.xml`},
		{"unclosed", head + `<define-gate name="G1"><or>`, `m.xml:4: not well-formed XML`},
		{"dtd", `<?xml version="1.0"?>
<!DOCTYPE opsa-mef [<!ENTITY a "aaaaaaaaaa">]>
<opsa-mef/>`, `m.xml:2: DTD or entity declaration refused: remove the <!DOCTYPE...> directive`},
		{"entity bomb", `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
]>
<opsa-mef><define-fault-tree name="&lol2;"/></opsa-mef>`, `DTD or entity declaration refused`},
		{"undeclared entity", `<opsa-mef><define-fault-tree name="&xxe;"/></opsa-mef>`, `m.xml:1: not well-formed XML: invalid character entity &xxe;`},
		{"ccf", head + `<define-CCF-group name="Pumps" model="beta-factor"/></define-fault-tree></opsa-mef>`, `m.xml:4: node "Pumps": common-cause failure groups are not supported`},
		{"event tree", `<opsa-mef><define-event-tree name="ET"/></opsa-mef>`, `m.xml:1: node "ET": <define-event-tree>: event trees are not supported`},
		{"private", head + `<define-component name="c" role="private"/></define-fault-tree></opsa-mef>`, `m.xml:4: node "c": private role is not supported`},
		{"unknown element", head + `<define-gate-x name="q"/></define-fault-tree></opsa-mef>`, `m.xml:4: node "q": unknown element <define-gate-x> inside <define-fault-tree>`},
		{"gate outside a fault tree", `<opsa-mef><define-gate name="g"><basic-event name="a"/></define-gate></opsa-mef>`, `<define-gate> inside <opsa-mef>: gates belong to a <define-fault-tree>`},
		{"too deep", "<opsa-mef><define-fault-tree name=\"f\"><define-gate name=\"g\">" + strings.Repeat("<and>", 600) + "</define-gate></define-fault-tree></opsa-mef>", `m.xml:1: elements nested deeper than 512`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tree, err := importString(t, c.doc, "m.xml")
			if err == nil {
				t.Fatalf("imported %d nodes, want an error containing %q", len(tree.Nodes), c.want)
			}
			if _, ok := err.(*attacktrees.Error); !ok {
				t.Errorf("error is a %T, want *attacktrees.Error", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error:\n  %v\nwant it to contain:\n  %s", err, c.want)
			}
		})
	}
}

// bigReader is a well-formed document larger than MaxSize: the limit must stop it.
type bigReader struct{ n int64 }

func (b *bigReader) Read(p []byte) (int, error) {
	const open, close = "<opsa-mef><!--", "--></opsa-mef>"
	for i := range p {
		switch {
		case b.n < int64(len(open)):
			p[i] = open[b.n]
		case b.n < MaxSize+100:
			p[i] = 'x'
		case b.n < MaxSize+100+int64(len(close)):
			p[i] = close[b.n-MaxSize-100]
		default:
			return i, io.EOF
		}
		b.n++
	}
	return len(p), nil
}

func TestSizeLimit(t *testing.T) {
	_, err := Import(&bigReader{}, "big.xml")
	if err == nil || !strings.Contains(err.Error(), "big.xml: file is larger than 64 MiB") {
		t.Errorf("error %v, want the size limit", err)
	}
}

// A chain of 100,000 gates, each referencing the next: references, not nesting, so it imports
// without recursion.
func TestDeepChain(t *testing.T) {
	const depth = 100_000
	var b strings.Builder
	b.WriteString(head)
	for i := range depth {
		fmt.Fprintf(&b, "<define-gate name=\"g%d\"><and><basic-event name=\"e%d\"/><gate name=\"g%d\"/></and></define-gate>\n", i, i, i+1)
	}
	fmt.Fprintf(&b, "<define-gate name=\"g%d\"><basic-event name=\"last\"/></define-gate>\n</define-fault-tree></opsa-mef>", depth)
	tree, err := importString(t, b.String(), "chain.xml")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tree.Nodes); n != 2*depth+2 {
		t.Errorf("%d nodes, want %d", n, 2*depth+2)
	}
	if g := tree.Nodes[0]; g.Kind != attacktrees.KindGoal || g.ID != "chain-g0" {
		t.Errorf("first node %s (%s), want the goal chain-g0", g.ID, g.Kind)
	}
}

func FuzzImport(f *testing.F) {
	xmltreetest.SeedTestdata(f)
	f.Add([]byte(gateWith(`<atleast min="2"><basic-event name="a"/><gate name="G1"/></atleast>`)))
	// Whatever imports must be a valid tree file.
	xmltreetest.FuzzLoads(f, Import)
}
