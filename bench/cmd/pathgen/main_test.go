package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The generated models the path benchmarks read are this command's output: regenerate them
// and compare, so that the benchmark inputs can always be rebuilt from their name.
func TestBenchmarkModelsAreReproducible(t *testing.T) {
	files, _ := filepath.Glob("../../../analyzer/paths/testdata/gen-*.xml")
	if len(files) == 0 {
		t.Fatal("no analyzer/paths/testdata/gen-*.xml")
	}
	for _, f := range files {
		var gates, events, layers int
		var seed uint64
		if _, err := fmt.Sscanf(filepath.Base(f), "gen-%d-%d-%d-%d.xml", &gates, &events, &layers, &seed); err != nil {
			t.Fatalf("%s: name is not gen-G-E-L-S.xml: %v", f, err)
		}
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		args := []string{"-gates", fmt.Sprint(gates), "-events", fmt.Sprint(events), "-layers", fmt.Sprint(layers), "-seed", fmt.Sprint(seed)}
		if code := run(args, &got, os.Stderr); code != 0 {
			t.Fatalf("pathgen %v: exit %d", args, code)
		}
		if d := cmp.Diff(string(want), got.String()); d != "" {
			t.Errorf("%s differs from pathgen %v (-file +generated):\n%s", f, args, d)
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-gates", "2", "-layers", "8"}, &out, &errs); code != 2 {
		t.Errorf("fewer gates than layers: exit %d, want 2", code)
	}
}
