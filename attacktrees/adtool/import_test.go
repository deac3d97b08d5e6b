package adtool

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/xmltreetest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// TestGolden imports each testdata/*.xml, compares the tree as YAML with testdata/*.yaml, and
// checks that the YAML loads and validates as a tree file.
func TestGolden(t *testing.T) { xmltreetest.Golden(t, Import, *update) }

func TestShape(t *testing.T) {
	f, err := os.Open("testdata/steal-secrets.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tree, err := Import(f, "testdata/steal-secrets.xml")
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ ID, Kind, Gate, Children, Annotates, Label string }
	var got []row
	for _, n := range tree.Nodes {
		got = append(got, row{strings.TrimPrefix(n.ID, "steal-secrets-"), string(n.Kind), string(n.Gate),
			strings.Join(n.Children, " "), strings.Join(n.Annotates, " "), n.Label})
	}
	p := func(s string) string { return "steal-secrets-" + s }
	want := []row{
		{"read-the-cluster-s-secrets", "goal", "or", p("use-a-stolen-service-account-token") + " " + p("exec-into-etcd"), "", "Read the cluster's secrets"},
		{"use-a-stolen-service-account-token", "and", "", p("steal-token") + " " + p("token-is-allowed-to-get-secrets"), "", "Use a stolen service account token"},
		{"steal-token", "or", "", p("read-token-from-a-compromised-pod") + " " + p("find-token-in-ci-logs"), "", "Steal token"},
		{"read-token-from-a-compromised-pod", "step", "", "", "", "Read token from a compromised pod"},
		// a step whose only child is a countermeasure: the countermeasure becomes a note on it
		{"find-token-in-ci-logs", "step", "", "", "", "Find token in CI logs"},
		{"countermeasure-mask-secrets-in-ci-logs", "note", "", "", p("find-token-in-ci-logs"), "Countermeasure: Mask secrets in CI logs (refined into 1 more nodes in ADTool, not imported)"},
		{"token-is-allowed-to-get-secrets", "step", "", "", "", "Token is allowed to get secrets"},
		// sequential refinement: an AND
		{"exec-into-etcd", "and", "", p("find-token-in-ci-logs-2") + " " + p("exec-into-the-etcd-pod"), "", "Exec into etcd"},
		// the same label twice in ADTool is two nodes
		{"find-token-in-ci-logs-2", "step", "", "", "", "Find token in CI logs"},
		{"exec-into-the-etcd-pod", "step", "", "", "", "Exec into the etcd pod"},
		{"countermeasure-deny-exec-with-an-admission-policy", "note", "", "", p("exec-into-etcd"), "Countermeasure: Deny exec with an admission policy"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("nodes (-want +got):\n%s", d)
	}
	if tree.ID != "steal-secrets" || tree.Title != "Read the cluster's secrets" {
		t.Errorf("tree id %q, title %q", tree.ID, tree.Title)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"wrong root", `<opsa-mef/>`, `t.xml:1: root element is <opsa-mef>: an ADTool file starts with <adtree>`},
		{"no node", `<adtree><domain id="x"/></adtree>`, `t.xml:1: <adtree> has no <node>`},
		{"two roots", "<adtree>\n<node><label>a</label><node><label>b</label></node></node>\n<node><label>c</label></node></adtree>", `t.xml:3: <adtree> has a second root <node> (the first is at line 2)`},
		{"no label", "<adtree>\n<node refinement=\"disjunctive\">\n<node><label>b</label></node></node></adtree>", `t.xml:2: <node> has no label`},
		{"blank label", "<adtree><node><label>a</label>\n<node><label>  </label></node></node></adtree>", `t.xml:2: <node> has no label`},
		{"bad refinement", "<adtree>\n<node refinement=\"parallel\"><label>a</label><node><label>b</label></node></node></adtree>", `t.xml:2: node "t-a": unknown refinement "parallel"`},
		{"unknown element", "<adtree><node><label>a</label>\n<child/></node></adtree>", `t.xml:2: node "t-a": unknown element <child> in <node>`},
		{"root countermeasure", `<adtree><node switchRole="yes"><label>a</label></node></adtree>`, `t.xml:1: the root node is a countermeasure`},
		{"root without attacks", `<adtree><node><label>a</label><node switchRole="yes"><label>d</label></node></node></adtree>`, `t.xml:1: node "t-a": the root node has no attack children`},
		{"dtd", "<?xml version=\"1.0\"?>\n<!DOCTYPE adtree SYSTEM \"http://example.invalid/x.dtd\">\n<adtree/>", `t.xml:2: DTD or entity declaration refused`},
		{"entity", `<adtree><node><label>&ent;</label></node></adtree>`, `t.xml:1: not well-formed XML: invalid character entity &ent;`},
		{"unclosed", "<adtree>\n<node><label>a</label>", `t.xml:2: not well-formed XML`},
		{"empty", ``, `t.xml: no XML element`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tree, err := Import(strings.NewReader(c.doc), "t.xml")
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

// ADTool nests a tree as deep as it is: 100,000 levels must import without recursion.
func TestDeepTree(t *testing.T) {
	const depth = 100_000
	var b strings.Builder
	b.WriteString("<adtree>")
	for range depth {
		b.WriteString(`<node refinement="conjunctive"><label>step</label>`)
	}
	b.WriteString(strings.Repeat("</node>", depth))
	b.WriteString("</adtree>")
	tree, err := Import(strings.NewReader(b.String()), "deep.xml")
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.Nodes) != depth {
		t.Fatalf("%d nodes, want %d", len(tree.Nodes), depth)
	}
	last := tree.Nodes[depth-1]
	if last.Kind != attacktrees.KindStep || last.ID != "deep-step-100000" {
		t.Errorf("deepest node %s (%s), want the step deep-step-100000", last.ID, last.Kind)
	}
}

func FuzzImport(f *testing.F) {
	xmltreetest.SeedTestdata(f)
	// Whatever imports must be a valid tree file.
	xmltreetest.FuzzLoads(f, Import)
}
