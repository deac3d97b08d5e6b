package attacktrees

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const okTree = `id: t
title: T
nodes:
  - id: g
    kind: goal
    gate: or
    label: Goal
    children: [a, b]
  - id: a
    kind: step
    label: A
  - id: b
    kind: and
    label: B
    children: [a, c]
  - id: c
    kind: step
    label: C
  - id: n
    kind: note
    label: N
    annotates: [c]
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "unknown field",
			yaml: "id: t\ntitle: T\nnodes:\n  - id: g\n    kind: goal\n    gate: or\n    label: G\n    colour: red\n    children: [a]\n  - id: a\n    kind: step\n    label: A\n",
			want: []string{"f.yaml:8: field colour not found in type attacktrees.Node (see docs/attack-trees.md for the fields)"},
		},
		{
			name: "duplicate id",
			yaml: "id: t\ntitle: T\nnodes:\n  - id: g\n    kind: goal\n    gate: or\n    label: G\n    children: [a]\n  - id: a\n    kind: step\n    label: A\n  - id: a\n    kind: step\n    label: A2\n",
			want: []string{`f.yaml:12: node "a": duplicate node id (first defined at line 9): give each node its own id`},
		},
		{
			name: "dangling child",
			yaml: "id: t\ntitle: T\nnodes:\n  - id: g\n    kind: goal\n    gate: or\n    label: G\n    children: [a, zz]\n  - id: a\n    kind: step\n    label: A\n",
			want: []string{`f.yaml:4: node "g": child "zz" is not defined in this file: define it, fix the id, or use a ` + "`kind: subtree`" + ` node with ` + "`target: zz`" + ` to refer to another tree`},
		},
		{
			name: "gate without children",
			yaml: "id: t\ntitle: T\nnodes:\n  - id: g\n    kind: goal\n    gate: or\n    label: G\n    children: [x]\n  - id: x\n    kind: and\n    label: X\n",
			want: []string{`f.yaml:9: node "x": and gate has no children: a gate needs children; if this box is an attack step, make it ` + "`kind: step`"},
		},
		{
			name: "unreachable node",
			yaml: "id: t\ntitle: T\nnodes:\n  - id: g\n    kind: goal\n    gate: plain\n    label: G\n    children: [a]\n  - id: a\n    kind: step\n    label: A\n  - id: lost\n    kind: step\n    label: Lost\n",
			want: []string{`f.yaml:12: node "lost": unreachable: no goal of tree "t" reaches this node; list it as a child of its parent or make it a goal`},
		},
		{
			name: "several errors reported together",
			yaml: "id: T!\ntitle: \"\"\nnodes:\n  - id: g\n    kind: goal\n    label: G\n    children: [a]\n  - id: a\n    kind: stepp\n    label: A\n  - kind: step\n    label: no id\n",
			want: []string{
				`f.yaml:1: tree id "T!" is not valid: use lower-case letters, digits and '-'`,
				"f.yaml:1: tree has no title: add `title: ...`",
				`f.yaml:4: node "g": goal has no gate: set ` + "`gate:`" + ` to and, or, atleast or plain`,
				`f.yaml:8: node "a": unknown kind "stepp": use goal, and, or, atleast, step, subtree or note`,
				"f.yaml:11: node has no id: add `id: ...` (lower-case letters, digits and '-')",
			},
		},
		{
			name: "atleast out of range",
			yaml: "id: t\ntitle: T\nnodes:\n  - id: g\n    kind: goal\n    gate: atleast\n    k: 3\n    label: G\n    children: [a, b]\n  - id: a\n    kind: step\n    label: A\n  - id: b\n    kind: step\n    label: B\n",
			want: []string{`f.yaml:4: node "g": atleast gate needs 1 <= k <= 2 (its number of children), got k: 3`},
		},
		{
			name: "no goal",
			yaml: "id: t\ntitle: T\nnodes:\n  - id: a\n    kind: step\n    label: A\n",
			want: []string{"f.yaml:1: tree has no goal: make its root `kind: goal` with a gate"},
		},
		{
			name: "subtree without target",
			yaml: "id: t\ntitle: T\nnodes:\n  - id: g\n    kind: goal\n    gate: or\n    label: G\n    children: [s]\n  - id: s\n    kind: subtree\n    label: S\n",
			want: []string{`f.yaml:9: node "s": subtree has no target: set ` + "`target:`" + ` to the tree id or node id it stands for`},
		},
		{
			name: "note as child",
			yaml: "id: t\ntitle: T\nnodes:\n  - id: g\n    kind: goal\n    gate: or\n    label: G\n    children: [n]\n  - id: n\n    kind: note\n    label: N\n    annotates: [g]\n",
			want: []string{`f.yaml:4: node "g": child "n" is a note: attach notes with ` + "`annotates`" + ` on the note instead`},
		},
		{
			name: "invalid yaml",
			yaml: "id: t\ntitle: [unclosed\n",
			want: []string{"f.yaml:1: invalid YAML: did not find expected ',' or ']'"},
		},
		{
			name: "binary junk",
			yaml: "\x00\x01\x02",
			want: []string{"f.yaml:1: file contains NUL bytes: this is not a YAML tree file"},
		},
		{
			name: "empty",
			yaml: "",
			want: []string{"f.yaml:1: empty file: a tree needs id, title and nodes (see docs/attack-trees.md)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "f.yaml")
			if err == nil {
				t.Fatal("Parse succeeded, want errors")
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tree := func(file, src string) *Tree {
		t.Helper()
		tr, err := Parse([]byte(src), file)
		if err != nil {
			t.Fatalf("Parse(%s): %v", file, err)
		}
		return tr
	}
	tests := []struct {
		name  string
		trees []*Tree
		want  []string
	}{
		{
			name: "reference cycle with no way out",
			trees: []*Tree{
				tree("a.yaml", "id: ta\ntitle: A\nnodes:\n  - id: ga\n    kind: goal\n    gate: or\n    label: GA\n    children: [sa]\n  - id: sa\n    kind: subtree\n    label: to B\n    target: tb\n"),
				tree("b.yaml", "id: tb\ntitle: B\nnodes:\n  - id: gb\n    kind: goal\n    gate: or\n    label: GB\n    children: [sb]\n  - id: sb\n    kind: subtree\n    label: to A\n    target: ga\n"),
			},
			want: []string{
				`a.yaml:9: node "sa": subtree can never be achieved: every way to its target "tb" runs back through this box (a reference cycle with no way out, docs/semantics.md); give a tree of the cycle a goal that does not refer back`,
				`b.yaml:9: node "sb": subtree can never be achieved: every way to its target "ga" runs back through this box (a reference cycle with no way out, docs/semantics.md); give a tree of the cycle a goal that does not refer back`,
			},
		},
		{
			name: "cycle of drawn edges",
			trees: []*Tree{
				tree("a.yaml", "id: ta\ntitle: A\nnodes:\n  - id: ga\n    kind: goal\n    gate: or\n    label: GA\n    children: [x]\n  - id: x\n    kind: or\n    label: X\n    children: [y]\n  - id: y\n    kind: and\n    label: Y\n    children: [x]\n"),
			},
			want: []string{`a.yaml:9: node "x": cycle: x -> y -> x: attack trees must be acyclic; remove one of these edges`},
		},
		{
			name: "duplicate node id across trees",
			trees: []*Tree{
				tree("a.yaml", okTree),
				tree("b.yaml", strings.Replace(okTree, "id: t\n", "id: t2\n", 1)),
			},
			want: []string{
				`b.yaml:4: node "g": node id is already used in tree "t" at a.yaml:4: node ids must be unique across trees; prefix them with the tree's name`,
				`b.yaml:9: node "a": node id is already used in tree "t" at a.yaml:9: node ids must be unique across trees; prefix them with the tree's name`,
				`b.yaml:12: node "b": node id is already used in tree "t" at a.yaml:12: node ids must be unique across trees; prefix them with the tree's name`,
				`b.yaml:16: node "c": node id is already used in tree "t" at a.yaml:16: node ids must be unique across trees; prefix them with the tree's name`,
				`b.yaml:19: node "n": node id is already used in tree "t" at a.yaml:19: node ids must be unique across trees; prefix them with the tree's name`,
			},
		},
		{
			name: "dangling subtree target",
			trees: []*Tree{
				tree("a.yaml", "id: ta\ntitle: A\nnodes:\n  - id: ga\n    kind: goal\n    gate: or\n    label: GA\n    children: [sa]\n  - id: sa\n    kind: subtree\n    label: to nowhere\n    target: nowhere\n"),
			},
			want: []string{`a.yaml:9: node "sa": subtree target "nowhere" is neither a tree id nor a node id in the catalog: fix the target or load the tree it names`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.trees)
			if err == nil {
				t.Fatal("Build succeeded, want errors")
			}
			if diff := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSharedNodeIsOneNode(t *testing.T) {
	tr, err := Parse([]byte(okTree), "ok.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Build([]*Tree{tr})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c.Node("a")
	var parents []string
	for _, p := range c.Parents(a) {
		parents = append(parents, p.ID)
	}
	if diff := cmp.Diff([]string{"g", "b"}, parents); diff != "" {
		t.Errorf("parents of shared node (-want +got):\n%s", diff)
	}
	if got := c.Graph().Nodes().Len(); got != 5 {
		t.Errorf("graph has %d nodes, want 5 (the shared node once)", got)
	}
	var leaves []string
	for _, l := range c.Leaves("t") {
		leaves = append(leaves, l.ID)
	}
	if diff := cmp.Diff([]string{"a", "c"}, leaves); diff != "" {
		t.Errorf("leaves (-want +got):\n%s", diff)
	}
	c2, _ := c.Node("c")
	if notes := c.Notes(c2); len(notes) != 1 || notes[0].ID != "n" {
		t.Errorf("notes of c = %v, want [n]", notes)
	}
}

func TestDeepChainDoesNotOverflow(t *testing.T) {
	const depth = 100000
	var b strings.Builder
	b.WriteString("id: deep\ntitle: Deep\nnodes:\n  - id: n0\n    kind: goal\n    gate: and\n    label: L\n    children: [n1]\n")
	for i := 1; i < depth; i++ {
		b.WriteString("  - id: n")
		b.WriteString(itoa(i))
		b.WriteString("\n    kind: step\n    label: L\n")
		if i < depth-1 {
			b.WriteString("    children: [n" + itoa(i+1) + "]\n")
		}
	}
	tr, err := Parse([]byte(b.String()), "deep.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Build([]*Tree{tr})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Leaves("deep")); got != 1 {
		t.Errorf("leaves = %d, want 1", got)
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var buf [20]byte
	pos := len(buf)
	for ; i > 0; i /= 10 {
		pos--
		buf[pos] = digits[i%10]
	}
	return string(buf[pos:])
}
