package attacktrees

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the tree loader (Parse, then Build alone and beside the
// embedded catalog). It must return a tree or errors, never panic or hang, and every error
// must name the file it is about, since that is all a user has to find the problem.
func FuzzParse(f *testing.F) {
	addCatalogSeeds(f)
	for _, s := range []string{
		okTree,
		"",
		"id: t\ntitle: T\nnodes: [{id: g, kind: goal, gate: atleast, k: 3, label: G, children: [a, a]}, {id: a, kind: step, label: A}]\n",
		"id: t\ntitle: T\nnodes: [{id: g, kind: goal, gate: or, label: G, children: [s]}, {id: s, kind: subtree, label: S, target: g}]\n",
		"id: t\ntitle: T\nnodes: [{id: g, kind: goal, gate: or, label: G, children: [a]}, {id: a, kind: or, label: A, children: [g]}]\n",
		"id: t\ntitle: T\nnodes: [{id: g, kind: goal, gate: or, label: G, children: [s]}, {id: s, kind: subtree, label: S, target: access-sensitive-data}]\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\nid: *c\n",
		"id: t\ntitle: T\nnodes: [~, {}, 3]\n",
		"- [[[[[[[[[[]]]]]]]]]]\n",
	} {
		f.Add([]byte(s))
	}
	// A small second tree whose ids the fuzzer easily hits, so clashes across trees and
	// subtree targets into another file are exercised (the whole catalog would make each run
	// ten times slower).
	other, err := Parse([]byte(okTree), "fuzz/other.yaml")
	if err != nil {
		f.Fatal(err)
	}
	const name = "fuzz/tree.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := Parse(data, name)
		if err != nil {
			checkNamesFile(t, err, name)
			return
		}
		if tree.File != name || tree.ID == "" || len(tree.Nodes) == 0 {
			t.Fatalf("Parse accepted a tree without file, id or nodes: %+v", tree)
		}
		if _, err := Build([]*Tree{tree}); err != nil {
			checkNamesFile(t, err, name)
		}
		// Beside another tree ids may clash; those errors must still name a file, this one or
		// the other's.
		if _, err := Build([]*Tree{other, tree}); err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("Build error is a %T, want Errors: %v", err, err)
			}
			for _, e := range es {
				if e.File == "" || e.Msg == "" {
					t.Fatalf("error without file or message: %q", e.Error())
				}
			}
		}
	})
}

// checkNamesFile fails unless err is one or more *Error values, each naming file and saying
// something.
func checkNamesFile(t *testing.T, err error, file string) {
	t.Helper()
	var es Errors
	var e *Error
	switch {
	case errors.As(err, &es):
		if len(es) == 0 {
			t.Fatalf("empty Errors")
		}
	case errors.As(err, &e):
		es = Errors{e}
	default:
		t.Fatalf("error is a %T, want *Error or Errors: %v", err, err)
	}
	for _, e := range es {
		if e.File != file || strings.TrimSpace(e.Msg) == "" {
			t.Fatalf("error %q does not name %s or says nothing", e.Error(), file)
		}
		if !strings.HasPrefix(e.Error(), file) {
			t.Fatalf("error %q does not start with %s", e.Error(), file)
		}
	}
}

// addCatalogSeeds seeds a fuzz target with every embedded catalog file.
func addCatalogSeeds(f *testing.F) {
	files, _ := filepath.Glob("catalog/*.yaml")
	for _, file := range files {
		data, err := catalogFS.ReadFile(filepath.ToSlash(file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}
