package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRenameAll(t *testing.T) {
	ids := map[string]bool{"dos-goal": true, "dos-a": true, "dos-a-b": true, "mce-goal": true}
	tests := []struct {
		name, in, want string
	}{
		{"id line", "  - id: dos-a", "  - id: dos-a-c1"},
		{"tree id", "id: dos-goal", "id: dos-goal-c1"},
		{"children, one id a prefix of another", "    children: [dos-a, dos-a-b]", "    children: [dos-a-c1, dos-a-b-c1]"},
		{"children without spaces", "    children: [dos-a,dos-a-b]", "    children: [dos-a-c1,dos-a-b-c1]"},
		{"subtree target in another tree", "    target: mce-goal", "    target: mce-goal-c1"},
		{"annotates", "    annotates: [dos-a]", "    annotates: [dos-a-c1]"},
		{"label keeps id-like words", `    label: "dos-a goes here"`, `    label: "dos-a goes here"`},
		{"comment untouched", "# children: [dos-a]", "# children: [dos-a]"},
		{"unknown token untouched", "    children: [dos-zzz]", "    children: [dos-zzz]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, renameAll(tc.in, ids, "-c1")); diff != "" {
				t.Errorf("renameAll(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

// TestRunCatalogLoads copies the real catalog once; run itself loads the result with
// attacktrees.Load (trees-mode add), so a clash with the embedded ids fails here.
func TestRunCatalogLoads(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	if code := run([]string{"-k", "3", "-catalog", "../../../attacktrees/catalog", dir}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	src, _ := filepath.Glob("../../../attacktrees/catalog/*.yaml")
	if len(files) != 2*len(src) {
		t.Errorf("%d files, want %d (2 copies of %d trees)", len(files), 2*len(src), len(src))
	}
}

func TestRunUsage(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(nil, &stderr); code != 2 {
		t.Errorf("no arguments: exit %d, want 2", code)
	}
	if code := run([]string{"-catalog", filepath.Join(t.TempDir(), "missing"), t.TempDir()}, &stderr); code != 1 {
		t.Errorf("missing catalog: exit %d, want 1", code)
	}
}
