package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	table := `| input | wall | CPU | peak RSS |
|---|---:|---:|---:|
| catalog x1 (6 trees), examples/platform, 1 namespace | 0.42 s | 0.41 s | 112 MiB |
| catalog x2 (12 trees), examples/platform, 1 namespace | 1.32 s | 1.26 s | 124 MiB |
| catalog x1, examples/platform, 10 namespaces | 1.11 s | 1.10 s | 200 MiB |
| catalog x4 (24 trees), examples/platform, 1 namespace | > 600 s (timeout or error) | | |
`
	in := filepath.Join(dir, "scale.md")
	if err := os.WriteFile(in, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "scale.svg")
	var stderr bytes.Buffer
	if code := run([]string{"-in", in, "-out", out}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	svg, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "catalog x K", "N namespaces"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
}

func TestRunNoRows(t *testing.T) {
	in := filepath.Join(t.TempDir(), "scale.md")
	if err := os.WriteFile(in, []byte("| input | wall |\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run([]string{"-in", in, "-out", filepath.Join(t.TempDir(), "x.svg")}, &stderr); code != 1 {
		t.Errorf("exit %d, want 1 (no rows)", code)
	}
}
