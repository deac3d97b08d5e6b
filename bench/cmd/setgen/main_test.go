package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies"
)

// TestRunWritesLoadableSet checks the counts (run loads what it wrote), that every policy and
// family is named by the mapping, and that the output is deterministic.
func TestRunWritesLoadableSet(t *testing.T) {
	for _, tc := range []struct{ p, q int }{{1, 1}, {13, 17}, {30, 200}} {
		a, b := t.TempDir(), t.TempDir()
		for _, dir := range []string{a, b} {
			var stdout, stderr bytes.Buffer
			if code := run([]string{"-policies", strconv.Itoa(tc.p), "-probes", strconv.Itoa(tc.q), dir}, &stdout, &stderr); code != 0 {
				t.Fatalf("setgen -policies %d -probes %d: exit %d: %s", tc.p, tc.q, code, stderr.String())
			}
			if n, err := strconv.Atoi(strings.TrimSpace(stdout.String())); err != nil || n < tc.q || n < tc.p {
				t.Errorf("P=%d Q=%d: printed %q, want the evaluation count", tc.p, tc.q, stdout.String())
			}
		}
		if got, want := tree(t, a), tree(t, b); got != want {
			t.Errorf("P=%d Q=%d: two runs differ", tc.p, tc.q)
		}
		mf, err := mapping.ReadFile(filepath.Join(a, "mapping.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		named := map[string]bool{}
		for _, s := range mf.Steps {
			for _, p := range s.Policies {
				named[p] = true
			}
			for _, f := range s.Probes {
				named[f] = true
			}
		}
		inv, err := policies.Load(filepath.Join(a, "policies"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range inv.Policies {
			if !named[p.ID] {
				t.Errorf("P=%d Q=%d: policy %s is not mapped", tc.p, tc.q, p.ID)
			}
		}
		probes, err := mapping.LoadProbes(filepath.Join(a, "probes"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range probes {
			if !named[p.Family] {
				t.Errorf("P=%d Q=%d: family %s is not mapped", tc.p, tc.q, p.Family)
			}
		}
	}
}

func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b.WriteString(rel + "\n" + string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
