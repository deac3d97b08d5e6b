package serve

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFingerprint: what counts as a change of the watched inputs, and what does not.
func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "policies", "a.yaml")
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(file, "one")
	watch := []string{filepath.Join(dir, "policies"), filepath.Join(dir, "mapping.yaml")} // the second is missing
	base := fingerprint(watch)
	if again := fingerprint(watch); again != base {
		t.Fatalf("two scans of unchanged files differ")
	}
	steps := []struct {
		name   string
		do     func()
		change bool
	}{
		{"hidden folder written", func() { write(filepath.Join(dir, "policies", ".git", "index"), "x") }, false},
		{"file outside the watched paths", func() { write(filepath.Join(dir, "other.yaml"), "x") }, false},
		{"content and size", func() { write(file, "three") }, true},
		{"same size, new time", func() {
			write(file, "fives")
			if err := os.Chtimes(file, time.Now(), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"new file", func() { write(filepath.Join(dir, "policies", "b.yaml"), "b") }, true},
		{"missing path appears", func() { write(filepath.Join(dir, "mapping.yaml"), "m") }, true},
		{"mode", func() {
			if err := os.Chmod(file, 0o600); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"file removed", func() {
			if err := os.Remove(filepath.Join(dir, "policies", "b.yaml")); err != nil {
				t.Fatal(err)
			}
		}, true},
	}
	prev := base
	for _, st := range steps {
		st.do()
		cur := fingerprint(watch)
		if (cur != prev) != st.change {
			t.Errorf("%s: changed %v, want %v", st.name, cur != prev, st.change)
		}
		prev = cur
	}
}
