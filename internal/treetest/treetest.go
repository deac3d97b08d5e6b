// Package treetest builds small catalogs from tree YAML documents for tests of the packages
// that read catalogs (analyzer, reports, openpsa): one way to write a test catalog inline.
package treetest

import (
	"fmt"
	"testing"

	"github.com/threatcov/threatcov/attacktrees"
)

// Catalog parses each document as a tree file named case<i>.yaml and builds the catalog of
// them all, failing the test on any error.
func Catalog(t testing.TB, docs ...string) *attacktrees.Catalog {
	t.Helper()
	var trees []*attacktrees.Tree
	for i, src := range docs {
		tr, err := attacktrees.Parse([]byte(src), fmt.Sprintf("case%d.yaml", i))
		if err != nil {
			t.Fatal(err)
		}
		trees = append(trees, tr)
	}
	c, err := attacktrees.Build(trees)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
