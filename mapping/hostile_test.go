package mapping

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/hostiletest"
)

func TestHostileMappingFiles(t *testing.T) {
	seqErr := "h.yaml:3: cannot unmarshal !!seq into string (see docs/mapping.md for the fields)"
	tests := []struct {
		name string
		data string
		want []string // the error's lines
	}{
		{
			// The schema holds only lists of strings, so an alias to a list of lists is a type
			// error per alias, never an expansion.
			name: "alias bomb in a known field",
			data: "version: 1\nsteps:\n  - nodes: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n    out-of-scope: x\n" +
				"  - nodes: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n    out-of-scope: y\n" +
				"  - nodes: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n    out-of-scope: z\n",
			want: []string{
				seqErr, seqErr, seqErr, seqErr, seqErr, seqErr, seqErr, seqErr, seqErr,
				"h.yaml:5: cannot unmarshal !!seq into string (see docs/mapping.md for the fields)",
				"h.yaml:5: cannot unmarshal !!seq into string (see docs/mapping.md for the fields)",
				"h.yaml:5: cannot unmarshal !!seq into string (see docs/mapping.md for the fields)",
				"h.yaml:5: cannot unmarshal !!seq into string (see docs/mapping.md for the fields)",
				"h.yaml:5: cannot unmarshal !!seq into string (see docs/mapping.md for the fields)",
				"h.yaml:5: cannot unmarshal !!seq into string (see docs/mapping.md for the fields)",
				"h.yaml:5: cannot unmarshal !!seq into string (see docs/mapping.md for the fields)",
				"h.yaml:5: cannot unmarshal !!seq into string (see docs/mapping.md for the fields)",
				"h.yaml:5: cannot unmarshal !!seq into string (see docs/mapping.md for the fields)",
				"h.yaml:5: entry selects no node: set `nodes:` (node ids), `labels:` (exact labels) or `refs:` (CNCF refs such as M9)",
				"h.yaml:7: entry selects no node: set `nodes:` (node ids), `labels:` (exact labels) or `refs:` (CNCF refs such as M9)",
			},
		},
		{
			name: "alias bomb in unknown keys",
			data: hostiletest.BillionLaughs("", "a") + "version: 1\nsteps: [{nodes: [g], out-of-scope: x}]\n",
			want: []string{
				"h.yaml:1: field a not found in type mapping.File (see docs/mapping.md for the fields)",
				"h.yaml:2: field b not found in type mapping.File (see docs/mapping.md for the fields)",
				"h.yaml:3: field c not found in type mapping.File (see docs/mapping.md for the fields)",
				"h.yaml:4: field d not found in type mapping.File (see docs/mapping.md for the fields)",
				"h.yaml:5: field e not found in type mapping.File (see docs/mapping.md for the fields)",
				"h.yaml:6: field f not found in type mapping.File (see docs/mapping.md for the fields)",
				"h.yaml:7: field g not found in type mapping.File (see docs/mapping.md for the fields)",
				"h.yaml:8: field h not found in type mapping.File (see docs/mapping.md for the fields)",
				"h.yaml:9: field i not found in type mapping.File (see docs/mapping.md for the fields)",
			},
		},
		{
			name: "deeply nested YAML",
			data: "version: 1\nsteps: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000),
			want: []string{"h.yaml:2: invalid YAML: exceeded max depth of 10000"},
		},
		{
			name: "unknown fields",
			data: "version: 1\nsteps:\n  - nodes: [g]\n    policy: [psa:baseline]\n    out-of-scope: x\ncolour: red\n",
			want: []string{
				"h.yaml:4: field policy not found in type mapping.Entry (see docs/mapping.md for the fields)",
				"h.yaml:6: field colour not found in type mapping.File (see docs/mapping.md for the fields)",
			},
		},
		{
			name: "binary junk with control characters",
			data: "version: 1\x00\x01",
			want: []string{"h.yaml: invalid YAML: control characters are not allowed"},
		},
		{
			name: "binary junk that is not UTF-8",
			data: "\x89PNG\r\n\x1a\n\x01\x02",
			want: []string{"h.yaml: invalid YAML: invalid leading UTF-8 octet"},
		},
		{
			// Regression: the second document was dropped without a word.
			name: "two mappings in one file",
			data: "version: 1\nsteps: [{nodes: [g], out-of-scope: x}]\n---\nversion: 1\nsteps: [{nodes: [a], out-of-scope: y}]\n",
			want: []string{"h.yaml:4: a second YAML document: one file holds one mapping; merge its steps into the first or give it its own --mapping file"},
		},
		{
			name: "broken second document",
			data: "version: 1\nsteps: [{nodes: [g], out-of-scope: x}]\n---\nsteps: [\n",
			want: []string{"h.yaml:4: invalid YAML: did not find expected node content"},
		},
		{
			name: "empty file",
			data: "",
			want: []string{"h.yaml:1: empty mapping: add `version: 1` and `steps:` (see docs/mapping.md)"},
		},
		{
			// Regression: entries pulled in by a merge key have no item under steps; their
			// errors used to read ":0: ...".
			name: "entry through a merge key",
			data: "version: 1\n<<: {steps: [{nodes: [g]}]}\n",
			want: []string{"h.yaml:1: an entry is exactly one of: policies with probes, `out-of-scope: reason`, or `attestable: reason` (or only `attack:`/`threat-matrix:` ids, to annotate steps mapped before)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hostiletest.Within(t, func() {
				_, err := Parse([]byte(tt.data), "h.yaml")
				if err == nil {
					t.Fatal("Parse accepted it, want an error")
				}
				if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
					t.Errorf("error lines (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestMappingEmptyTrailingDocument: a trailing "---" is not a second mapping.
func TestMappingEmptyTrailingDocument(t *testing.T) {
	for _, end := range []string{"---\n", "---\n# nothing\n", "...\n", "--- ~\n"} {
		if _, err := Parse([]byte("version: 1\nsteps: [{nodes: [g], out-of-scope: x}]\n"+end), "h.yaml"); err != nil {
			t.Errorf("ending %q: %v", end, err)
		}
	}
}

func TestMappingFileOverSizeLimit(t *testing.T) {
	file := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(attacktrees.MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ReadFile(file)
	want := fmt.Sprintf("%s: mapping file is larger than %d bytes", file, attacktrees.MaxFileSize)
	if err == nil || err.Error() != want {
		t.Fatalf("ReadFile: %v, want %s", err, want)
	}
}

// TestMappingUnknownNodes: a mapping that names nodes, labels or refs the catalog lacks is a
// warning listing each, and an error holding the same lines with strict set. An unknown probe
// family is an error either way.
func TestMappingUnknownNodes(t *testing.T) {
	tree, err := attacktrees.Parse([]byte("id: t\ntitle: T\nnodes:\n  - {id: g, kind: goal, gate: or, label: Goal, children: [a]}\n  - {id: a, kind: step, label: A, ref: M9}\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := attacktrees.Build([]*attacktrees.Tree{tree})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse([]byte(`version: 1
steps:
  - nodes: [a, ghost]
    labels: [No such box]
    refs: [M99]
    out-of-scope: test
attestations:
  - node: phantom
    control: c
    evidence: e
    expires: 2030-01-01
`), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	warnings := []string{
		`m.yaml:3: node "ghost" is not in the catalog`,
		`m.yaml:3: no node has the label "No such box"`,
		`m.yaml:3: no node has the ref "M99"`,
		`m.yaml:8: attestation for node "phantom", which is not in the catalog`,
	}
	m, err := Resolve(cat, nil, false, f)
	if err != nil {
		t.Fatalf("lax Resolve: %v", err)
	}
	if diff := cmp.Diff(warnings, m.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if s := m.Step("a"); s == nil || s.OutOfScope != "test" {
		t.Errorf("the known node a lost its mapping: %+v", s)
	}
	_, err = Resolve(cat, nil, true, f)
	if err == nil {
		t.Fatal("strict Resolve succeeded, want the warnings as an error")
	}
	if diff := cmp.Diff(warnings, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("strict error (-want +got):\n%s", diff)
	}

	g, err := Parse([]byte("version: 1\nsteps:\n  - nodes: [a]\n    policies: [psa:baseline]\n    probes: [no-such-family]\n"), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Resolve(cat, []string{"host-pid"}, false, g)
	if want := `p.yaml:3: unknown probe family "no-such-family": add it to the probes or fix the name`; err == nil || err.Error() != want {
		t.Errorf("unknown family: %v, want %s", err, want)
	}
}

// TestAttestationSelectors: one attestation covers every node its labels or refs select (a
// step drawn in several trees), as a step entry does; a namespace attestation names no node.
func TestAttestationSelectors(t *testing.T) {
	cat, err := attacktrees.Default()
	if err != nil {
		t.Fatal(err)
	}
	trees := map[string]map[string]bool{}
	for _, n := range cat.Nodes() {
		if n.Kind == attacktrees.KindStep {
			if trees[n.Label] == nil {
				trees[n.Label] = map[string]bool{}
			}
			trees[n.Label][n.Tree] = true
		}
	}
	label := ""
	for l, ts := range trees {
		if len(ts) >= 2 && (label == "" || l < label) {
			label = l
		}
	}
	if label == "" {
		t.Fatal("no step label is drawn in two trees")
	}
	f, err := Parse([]byte("version: 1\nattestations:\n  - labels: ["+strconv.Quote(label)+"]\n    control: c\n    evidence: e\n    expires: 2030-01-01\n  - namespace: kube-system\n    control: rbac\n    evidence: e\n    expires: 2030-01-01\n"), "a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Resolve(cat, nil, true, f)
	if err != nil {
		t.Fatal(err)
	}
	covered := 0
	for _, n := range cat.Nodes() {
		if n.Label == label {
			if s := m.Step(n.ID); s == nil || s.Attestation == nil {
				t.Errorf("%s (%s) is not attested", n.ID, n.Tree)
			} else {
				covered++
			}
		}
	}
	if covered < 2 {
		t.Errorf("the attestation covers %d nodes labelled %q, want every one (>= 2)", covered, label)
	}
	if got := m.UnusableNamespaces(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)); len(got) != 1 || got[0] != "kube-system" {
		t.Errorf("unusable namespaces %v, want [kube-system]", got)
	}
	if _, err := Parse([]byte("version: 1\nattestations:\n  - labels: [x]\n    namespace: y\n    control: c\n    evidence: e\n    expires: 2030-01-01\n"), "b.yaml"); err == nil {
		t.Error("an attestation naming both nodes and a namespace was accepted")
	}
}
