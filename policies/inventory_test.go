package policies

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got; go test -update accepts):\n%s", path, diff)
	}
}

func loadFixtures(t *testing.T) *Inventory {
	t.Helper()
	inv, err := Load("testdata/inventory")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return inv
}

func TestLoadGolden(t *testing.T) {
	inv := loadFixtures(t)
	got, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "inventory.golden.json", append(got, '\n'))
}
