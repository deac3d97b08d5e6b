package remedies_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/threatcov/threatcov/remedies"
)

var update = flag.Bool("update", false, "rewrite testdata/rendered from the sources")

// TestRenderedGolden pins what fix writes for every remedy, as VAP and as Gatekeeper, in deny
// mode: byte-identical for the same sources, and readable in review (go test ./remedies
// -update after an intended change).
func TestRenderedGolden(t *testing.T) {
	all, err := remedies.All()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "rendered")
	for _, e := range remedies.Engines {
		o := testOptions
		o.Engine = remedies.Engine(e)
		for _, r := range all {
			got, err := r.Render(o)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := r.Render(o)
			if string(again) != string(got) {
				t.Errorf("%s %s: two renderings differ", e, r.Name)
			}
			file := filepath.Join(dir, r.FileName(o))
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (go test ./remedies -run TestRenderedGolden -update)", err)
			}
			if string(want) != string(got) {
				t.Errorf("%s differs from the rendering (go test ./remedies -run TestRenderedGolden -update, then read the diff)", file)
			}
		}
	}
}
