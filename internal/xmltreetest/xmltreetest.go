// Package xmltreetest holds the tests both XML importers (attacktrees/openpsa,
// attacktrees/adtool) run the same way: golden files, and the fuzz properties that whatever
// imports loads as a tree file and that every refusal names the file.
package xmltreetest

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/attacktrees"
)

// Import is an importer's entry point: read a model from r, name it in errors.
type Import func(r io.Reader, name string) (*attacktrees.Tree, error)

// YAML writes tree as a tree file.
func YAML(t testing.TB, tree *attacktrees.Tree) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := attacktrees.WriteYAML(&b, tree); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Golden imports each testdata/*.xml, compares the tree as YAML with testdata/*.yaml
// (rewriting it when update is set), and checks that the YAML loads and builds as a tree file.
func Golden(t *testing.T, imp Import, update bool) {
	files, _ := filepath.Glob("testdata/*.xml")
	if len(files) == 0 {
		t.Fatal("no testdata/*.xml")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			tree, err := imp(bytes.NewReader(data), file)
			if err != nil {
				t.Fatal(err)
			}
			got := YAML(t, tree)
			golden := strings.TrimSuffix(file, ".xml") + ".yaml"
			if update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("%s (-golden +imported):\n%s", golden, d)
			}
			loads(t, got, golden)
		})
	}
}

// loads fails t unless y parses and builds as a tree file.
func loads(t *testing.T, y []byte, name string) {
	t.Helper()
	parsed, err := attacktrees.Parse(y, name)
	if err != nil {
		t.Fatalf("imported tree does not load as a tree file: %v\n%s", err, y)
	}
	if _, err := attacktrees.Build([]*attacktrees.Tree{parsed}); err != nil {
		t.Fatalf("imported tree does not build: %v\n%s", err, y)
	}
}

// SeedTestdata adds every testdata/*.xml to f's corpus.
func SeedTestdata(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzLoads holds imp to: an error is an *attacktrees.Error, and whatever imports is a valid
// tree file.
func FuzzLoads(f *testing.F, imp Import) {
	f.Fuzz(func(t *testing.T, data []byte) {
		tree, err := imp(bytes.NewReader(data), "fuzz.xml")
		if err != nil {
			if _, ok := err.(*attacktrees.Error); !ok {
				t.Fatalf("error is a %T, want *attacktrees.Error: %v", err, err)
			}
			return
		}
		loads(t, YAML(t, tree), "fuzz.yaml")
	})
}

// FuzzNamesFile holds every refusal of imp to one shape: an *attacktrees.Error naming the file
// name, saying something, printed file first.
func FuzzNamesFile(f *testing.F, imp Import, name string) {
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := imp(bytes.NewReader(data), name)
		if err == nil {
			return
		}
		var e *attacktrees.Error
		if !errors.As(err, &e) {
			t.Fatalf("error is a %T, want *attacktrees.Error: %v", err, err)
		}
		if e.File != name || strings.TrimSpace(e.Msg) == "" || !strings.HasPrefix(err.Error(), name) {
			t.Fatalf("error %q does not name %s first or says nothing", err, name)
		}
	})
}
