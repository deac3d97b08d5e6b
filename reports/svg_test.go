package reports

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/attacktrees"
)

// TestTreeSVGDeterministic renders each fixture tree twice and pins the DOT and SVG as goldens.
func TestTreeSVGGolden(t *testing.T) {
	c := loadCatalog(t, "testdata/small/trees")
	r := smallResult()
	for _, tree := range []string{"demo", "other"} {
		t.Run(tree, func(t *testing.T) {
			dot, err := TreeDOT(c, r, tree)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "small", tree+".dot", dot)
			first, err := TreeSVG(context.Background(), c, r, tree)
			if err != nil {
				t.Fatal(err)
			}
			second, err := TreeSVG(context.Background(), c, r, tree)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Fatal("two renders of the same tree differ")
			}
			golden(t, "small", tree+".svg", first)
		})
	}
}

// TestRenderCatalogPNG writes every catalog tree as SVG to $THREATCOV_SVG_DIR, to be converted
// to PNG and looked at; skipped unless the variable is set.
func TestRenderCatalogSVG(t *testing.T) {
	dir := os.Getenv("THREATCOV_SVG_DIR")
	if dir == "" {
		t.Skip("set THREATCOV_SVG_DIR to write the catalog's trees as SVG")
	}
	c, err := attacktrees.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range c.Trees() {
		svg, err := TreeSVG(context.Background(), c, nil, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, tr.ID+".svg"), svg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_ = strings.TrimSpace
}
