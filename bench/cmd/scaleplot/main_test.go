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
| generated set, policy series: 10 policies, 100 probes (100 evaluations), 1 namespace | 0.30 s | 0.35 s | 80 MiB |
| generated set, policy series: 100 policies, 100 probes (1000 evaluations), 1 namespace | 0.60 s | 0.75 s | 120 MiB |
| generated set, probe series: 100 policies, 10 probes (100 evaluations), 1 namespace | 0.30 s | 0.33 s | 80 MiB |
| generated set, probe series: 100 policies, 1000 probes (10000 evaluations), 1 namespace | 2.90 s | 2.89 s | 260 MiB |
| generated set, template series: 10 Gatekeeper templates (14 constraints), 100 probes (140 evaluations), 1 namespace | 0.19 s | 0.16 s | 84 MiB |
| generated set, template series: 100 Gatekeeper templates (134 constraints), 100 probes (1340 evaluations), 1 namespace | 0.99 s | 0.57 s | 141 MiB |
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
	for _, want := range []string{"<svg", "catalog x K", "N namespaces", "P generated policies (100 probes)", "Q generated probes (100 policies)", "T generated Gatekeeper templates (100 probes)", "slope 1"} {
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
