package attacktrees

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/internal/hostiletest"
)

const tinyNodes = "nodes:\n  - {id: g, kind: goal, gate: or, label: G, children: [a]}\n  - {id: a, kind: step, label: A}\n"

func TestHostileTreeFiles(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string // the whole error text
	}{
		{
			// Unknown keys are refused before any alias is expanded.
			name: "alias bomb in unknown keys",
			data: hostiletest.BillionLaughs("", "a") + "id: t\ntitle: T\n" + tinyNodes,
			want: strings.Join([]string{
				"h.yaml:1: field a not found in type attacktrees.Tree (see docs/attack-trees.md for the fields)",
				"h.yaml:2: field b not found in type attacktrees.Tree (see docs/attack-trees.md for the fields)",
				"h.yaml:3: field c not found in type attacktrees.Tree (see docs/attack-trees.md for the fields)",
				"h.yaml:4: field d not found in type attacktrees.Tree (see docs/attack-trees.md for the fields)",
				"h.yaml:5: field e not found in type attacktrees.Tree (see docs/attack-trees.md for the fields)",
				"h.yaml:6: field f not found in type attacktrees.Tree (see docs/attack-trees.md for the fields)",
				"h.yaml:7: field g not found in type attacktrees.Tree (see docs/attack-trees.md for the fields)",
				"h.yaml:8: field h not found in type attacktrees.Tree (see docs/attack-trees.md for the fields)",
				"h.yaml:9: field i not found in type attacktrees.Tree (see docs/attack-trees.md for the fields)",
			}, "\n"),
		},
		{
			// The schema has no field that holds nested lists, so an alias to the bomb's top
			// is a type error, not an expansion.
			name: "alias bomb aimed at a known field",
			data: "id: t\ntitle: T\nsource: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" +
				"ref0: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" + tinyNodes +
				"  - {id: x, kind: step, label: X, children: [*b, *b, *b, *b, *b, *b, *b, *b, *b]}\n",
			want: strings.Join([]string{
				"h.yaml:3: cannot unmarshal !!seq into string (see docs/attack-trees.md for the fields)",
				"h.yaml:4: field ref0 not found in type attacktrees.Tree (see docs/attack-trees.md for the fields)",
				"h.yaml:4: cannot unmarshal !!seq into string (see docs/attack-trees.md for the fields)",
				"h.yaml:4: cannot unmarshal !!seq into string (see docs/attack-trees.md for the fields)",
				"h.yaml:4: cannot unmarshal !!seq into string (see docs/attack-trees.md for the fields)",
				"h.yaml:4: cannot unmarshal !!seq into string (see docs/attack-trees.md for the fields)",
				"h.yaml:4: cannot unmarshal !!seq into string (see docs/attack-trees.md for the fields)",
				"h.yaml:4: cannot unmarshal !!seq into string (see docs/attack-trees.md for the fields)",
				"h.yaml:4: cannot unmarshal !!seq into string (see docs/attack-trees.md for the fields)",
				"h.yaml:4: cannot unmarshal !!seq into string (see docs/attack-trees.md for the fields)",
				"h.yaml:4: cannot unmarshal !!seq into string (see docs/attack-trees.md for the fields)",
				`h.yaml:8: node "x": unreachable: no goal of tree "t" reaches this node; list it as a child of its parent or make it a goal`,
			}, "\n"),
		},
		{
			name: "deeply nested flow sequences",
			data: strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000),
			want: "h.yaml: invalid YAML: yaml: exceeded max depth of 10000",
		},
		{
			name: "deeply nested mappings",
			data: "id: t\ntitle: T\nsource: " + strings.Repeat("{a: ", 20_000) + "1" + strings.Repeat("}", 20_000) + "\n" + tinyNodes,
			want: "h.yaml:3: invalid YAML: exceeded max depth of 10000",
		},
		{
			name: "unknown fields",
			data: "id: t\ntitle: T\ncolour: red\n" + tinyNodes + "  - {id: b, kind: step, label: B, weight: 3}\n",
			want: strings.Join([]string{
				"h.yaml:3: field colour not found in type attacktrees.Tree (see docs/attack-trees.md for the fields)",
				"h.yaml:7: field weight not found in type attacktrees.Node (see docs/attack-trees.md for the fields)",
				`h.yaml:7: node "b": unreachable: no goal of tree "t" reaches this node; list it as a child of its parent or make it a goal`,
			}, "\n"),
		},
		{
			name: "binary junk with NUL bytes",
			data: "\x7fELF\x02\x01\x01\x00\x00\x00",
			want: "h.yaml:1: file contains NUL bytes: this is not a YAML tree file",
		},
		{
			name: "binary junk without NUL bytes",
			data: "\x89PNG\r\n\x1a\n\x01\x02",
			want: "h.yaml: invalid YAML: yaml: invalid leading UTF-8 octet",
		},
		{
			name: "empty file",
			data: "",
			want: "h.yaml:1: empty file: a tree needs id, title and nodes (see docs/attack-trees.md)",
		},
		{
			name: "over the size limit",
			data: "id: t\ntitle: T\n" + tinyNodes + "# " + strings.Repeat("x", MaxFileSize),
			want: fmt.Sprintf("h.yaml: file is larger than %d bytes: a tree file is YAML of a few kilobytes; check the path", MaxFileSize),
		},
		{
			// Regression: the second tree was dropped without a word.
			name: "two trees in one file",
			data: "id: t\ntitle: T\n" + tinyNodes + "---\nid: u\ntitle: U\nnodes: [{id: x, kind: step, label: X}]\n",
			want: "h.yaml:7: a second YAML document: one file holds one tree; move it to a file of its own",
		},
		{
			name: "broken second document",
			data: "id: t\ntitle: T\n" + tinyNodes + "---\nid: [\n",
			want: "h.yaml:7: invalid YAML: did not find expected node content",
		},
		{
			name: "cycle within a file",
			data: "id: t\ntitle: T\nnodes:\n  - {id: g, kind: goal, gate: or, label: G, children: [a]}\n  - {id: a, kind: or, label: A, children: [b]}\n  - {id: b, kind: or, label: B, children: [a]}\n",
			want: `h.yaml:5: node "a": cycle: a -> b -> a: attack trees must be acyclic; remove one of these edges`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hostiletest.Within(t, func() {
				var err error
				tree, err := Parse([]byte(tt.data), "h.yaml")
				if err == nil {
					_, err = Build([]*Tree{tree})
				}
				if err == nil {
					t.Fatal("accepted, want an error")
				}
				if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestEmptyTrailingDocument: a trailing "---" (common in generated YAML) is not a second tree.
func TestEmptyTrailingDocument(t *testing.T) {
	for _, end := range []string{"---\n", "---\n# nothing\n", "...\n", "--- ~\n"} {
		if _, err := Parse([]byte("id: t\ntitle: T\n"+tinyNodes+end), "h.yaml"); err != nil {
			t.Errorf("ending %q: %v", end, err)
		}
	}
}

// TestTreeFileOverSizeLimitIsNotRead checks that ReadFile stops reading at the limit: a file
// one byte over it is refused with the same message as Parse gives.
func TestTreeFileOverSizeLimitIsNotRead(t *testing.T) {
	file := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: its size is over the limit without writing 8 MiB.
	if err := f.Truncate(MaxFileSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = ReadFile(file)
	want := fmt.Sprintf("%s: file is larger than %d bytes: a tree file is YAML of a few kilobytes; check the path", file, MaxFileSize)
	if err == nil || err.Error() != want {
		t.Fatalf("ReadFile: %v, want %s", err, want)
	}
}

func writeTrees(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestHostileTreeSets(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // lines of the error, with DIR for the folder
	}{
		{
			name: "duplicate node ids across trees",
			files: map[string]string{
				"a.yaml": "id: one\ntitle: One\n" + tinyNodes,
				"b.yaml": "id: two\ntitle: Two\n" + tinyNodes,
			},
			want: []string{
				`DIR/b.yaml:4: node "g": node id is already used in tree "one" at DIR/a.yaml:4: node ids must be unique across trees; prefix them with the tree's name`,
				`DIR/b.yaml:5: node "a": node id is already used in tree "one" at DIR/a.yaml:5: node ids must be unique across trees; prefix them with the tree's name`,
			},
		},
		{
			name: "duplicate tree ids",
			files: map[string]string{
				"a.yaml": "id: same\ntitle: One\n" + tinyNodes,
				"b.yaml": "id: same\ntitle: Two\nnodes:\n  - {id: g2, kind: goal, gate: or, label: G, children: [a2]}\n  - {id: a2, kind: step, label: A}\n",
			},
			want: []string{
				`DIR/b.yaml:1: tree id "same" is already used by DIR/a.yaml:1: give each tree its own id (or replace the catalog with --trees-mode replace)`,
			},
		},
		{
			name: "cycle through subtree nodes across files",
			files: map[string]string{
				"a.yaml": "id: one\ntitle: One\nnodes:\n  - {id: g1, kind: goal, gate: or, label: G, children: [s1]}\n  - {id: s1, kind: subtree, label: S, target: two}\n",
				"b.yaml": "id: two\ntitle: Two\nnodes:\n  - {id: g2, kind: goal, gate: or, label: G, children: [s2]}\n  - {id: s2, kind: subtree, label: S, target: one}\n",
			},
			want: []string{
				`DIR/a.yaml:5: node "s1": subtree can never be achieved: every way to its target "two" runs back through this box (a reference cycle with no way out, docs/semantics.md); give a tree of the cycle a goal that does not refer back`,
				`DIR/b.yaml:5: node "s2": subtree can never be achieved: every way to its target "one" runs back through this box (a reference cycle with no way out, docs/semantics.md); give a tree of the cycle a goal that does not refer back`,
			},
		},
		{
			name:  "empty folder",
			files: map[string]string{"README.md": "not a tree"},
			want:  []string{"DIR: folder holds no .yaml tree files: check the path"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTrees(t, tt.files)
			hostiletest.Within(t, func() {
				_, err := Load(ModeReplace, dir)
				if err == nil {
					t.Fatal("Load succeeded, want an error")
				}
				want := strings.ReplaceAll(strings.Join(tt.want, "\n"), "DIR", dir)
				if diff := cmp.Diff(want, err.Error()); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestDeepCycle closes a chain 100,000 nodes deep back on its goal (TestDeepChainDoesNotOverflow
// covers the acyclic chain): the cycle check must neither overflow the stack nor hang, and the
// error names the first node of the cycle.
func TestDeepCycle(t *testing.T) {
	const depth = 100_000
	var b strings.Builder
	b.WriteString("id: deep\ntitle: Deep\nnodes:\n  - {id: g, kind: goal, gate: or, label: G, children: [n1]}\n")
	for i := 1; i < depth; i++ {
		fmt.Fprintf(&b, "  - {id: n%d, kind: or, label: N%d, children: [n%d]}\n", i, i, i+1)
	}
	fmt.Fprintf(&b, "  - {id: n%d, kind: or, label: Last, children: [g]}\n", depth)
	hostiletest.Within(t, func() {
		tree, err := Parse([]byte(b.String()), "deep.yaml")
		if err != nil {
			t.Fatal(err)
		}
		_, err = Build([]*Tree{tree})
		if err == nil {
			t.Fatal("Build accepted a cycle")
		}
		msg := err.Error()
		for _, s := range []string{`deep.yaml:4: node "g": cycle: g -> n1 -> n2 -> `, " -> ... (99982 more nodes) ... -> ", fmt.Sprintf(" -> n%d -> g: attack trees must be acyclic", depth)} {
			if !strings.Contains(msg, s) {
				t.Errorf("error does not contain %q:\n%.300s...", s, msg)
			}
		}
		if len(msg) > 500 {
			t.Errorf("error is %d bytes long: a long cycle should be abridged", len(msg))
		}
	})
}
