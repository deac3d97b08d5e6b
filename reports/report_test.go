package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

var extensions = map[string]string{
	"table": "txt", "json": "json", "yaml": "yaml", "markdown": "md",
	"sarif": "sarif", "junit": "xml", "html": "html", "navigator": "navigator.json",
}

type reportCase struct {
	name    string
	result  *analyzer.Result
	catalog *attacktrees.Catalog
}

func reportCases(t testing.TB) []reportCase {
	empty, err := attacktrees.Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	return []reportCase{
		{"small", smallResult(), loadCatalog(t, "testdata/small/trees")},
		{"empty", emptyResult(), empty},
	}
}

// golden compares got with testdata/<case>/<file>, or rewrites it under -update.
func golden(t *testing.T, dir, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", dir, file)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./reports -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got; go test ./reports -update rewrites it):\n%s", path, diff)
	}
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range reportCases(t) {
		for _, format := range Formats {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				var first, second bytes.Buffer
				if err := Render(&first, format, tc.result, tc.catalog); err != nil {
					t.Fatal(err)
				}
				if err := Render(&second, format, tc.result, tc.catalog); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(first.Bytes(), second.Bytes()) {
					t.Fatalf("two renders of the same result differ")
				}
				golden(t, tc.name, "report."+extensions[format], first.Bytes())
			})
		}
	}
}

func TestRenderUnknownFormat(t *testing.T) {
	err := Render(&bytes.Buffer{}, "pdf", emptyResult(), nil)
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("use one of table, json")) {
		t.Fatalf("got %v, want an error listing the formats", err)
	}
}

// TestActionElementLabel: a path element "node#action" (a mapped inner node's own action) is
// labelled from its node, in every format that lists paths.
func TestActionElementLabel(t *testing.T) {
	r := smallResult()
	r.Trees[0].Goals[0].OpenPaths = append(r.Trees[0].Goals[0].OpenPaths, path("demo-escape#action", "demo-exploit"))
	c := loadCatalog(t, "testdata/small/trees")
	want := "Escape through a privileged container (the step itself) + Exploit the kernel"
	for _, format := range []string{"table", "markdown"} {
		var b bytes.Buffer
		if err := Render(&b, format, r, c); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b.Bytes(), []byte(want)) {
			t.Errorf("%s lacks %q:\n%s", format, want, b.String())
		}
	}
}
