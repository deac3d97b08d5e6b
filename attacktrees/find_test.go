package attacktrees_test

import (
	"strings"
	"testing"

	"github.com/threatcov/threatcov/attacktrees"
)

// TestFindNodeAndTree: ids, labels (any case) and "did you mean" for near misses.
func TestFindNodeAndTree(t *testing.T) {
	c, err := attacktrees.Default()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.FindNode("mce-find-pod-with-hostpid"); err != nil || n.ID != "mce-find-pod-with-hostpid" {
		t.Errorf("by id: %v %v", n, err)
	}
	if n, err := c.FindNode("container is running as root"); err != nil || n.Label != "Container is running as root" {
		t.Errorf("by label: %v %v", n, err)
	}
	if _, err := c.FindNode("mce-find-pod-with-hostpd"); err == nil || !strings.Contains(err.Error(), "did you mean mce-find-pod-with-hostpid") {
		t.Errorf("near miss: %v", err)
	}
	seen := map[string]int{}
	shared := ""
	for _, n := range c.Nodes() {
		if seen[strings.ToLower(n.Label)]++; seen[strings.ToLower(n.Label)] == 2 && shared == "" {
			if _, ok := c.Node(n.Label); !ok {
				shared = n.Label
			}
		}
	}
	if shared == "" {
		t.Fatal("the catalog has no label two nodes share")
	}
	if _, err := c.FindNode(shared); err == nil || !strings.Contains(err.Error(), "name one by its id") {
		t.Errorf("label %q, which several nodes share: %v, want a request for an id", shared, err)
	}
	if _, err := c.FindTree("malicious-code"); err == nil || !strings.Contains(err.Error(), "did you mean malicious-code-execution?") {
		t.Errorf("tree near miss: %v", err)
	}
	if _, err := c.FindTree("zzz"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("nothing close: %v", err)
	}
}
