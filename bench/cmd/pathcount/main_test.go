package main

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCounts(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-show", "2", "../../../attacktrees/openpsa/testdata/two-trees.xml"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	// StealSecrets = 2-of-3 etcd (3) + token.rbac (1) + Node.Root.(kubelet-key + node_root) (2);
	// RunCode = token + Node.Root (2). All of StealSecrets' paths have two steps; the etcd
	// members come first in the tree, so first in lexicographic order.
	want := `two-trees-stealsecrets 6
two-trees-etcd-1 two-trees-etcd-2
two-trees-etcd-1 two-trees-etcd-3
two-trees-runcode 2
two-trees-stolentoken
two-trees-node-root
`
	if d := cmp.Diff(want, out.String()); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
}

func TestBadInput(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"missing.xml"}, &out, &errs); code != 2 {
		t.Errorf("missing file: exit %d, want 2", code)
	}
	if code := run(nil, &out, &errs); code != 2 {
		t.Errorf("no argument: exit %d, want 2", code)
	}
}
