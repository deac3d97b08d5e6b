package cluster

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/internal/testcluster"
)

// TestReadPages reads with pages of two objects: the same objects as one page.
func TestReadPages(t *testing.T) {
	c := testcluster.Shared(t)
	for _, ns := range []string{"pages-a", "pages-b", "pages-c", "pages-d", "pages-e"} {
		if err := c.CreateNamespace(t.Context(), ns, nil); err != nil {
			t.Fatal(err)
		}
	}
	whole, _, err := Read(t.Context(), c.Config, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func(n int64) { listPageSize = n }(listPageSize)
	listPageSize = 2
	paged, _, err := Read(t.Context(), c.Config, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole) < 2*int(listPageSize)+1 {
		t.Fatalf("only %d objects: the read fits in one page", len(whole))
	}
	if diff := cmp.Diff(whole, paged); diff != "" {
		t.Errorf("paged read differs (-one page +pages of 2):\n%s", diff)
	}
}
