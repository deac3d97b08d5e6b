package probes

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/hostiletest"
)

func TestHostileProbeFiles(t *testing.T) {
	family := "name: x\ndescription: d\nscope: pod\nattack: {pod: {spec: {hostPID: true}}}\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string // with DIR for the folder
	}{
		{
			// Regression: readBase type-asserted spec and panicked.
			name:  "base Pod without spec",
			files: map[string]string{"base.yaml": "apiVersion: v1\nkind: Pod\n", "x.yaml": family},
			want:  "DIR/base.yaml:1: the base Pod needs at least one container: its first container carries container attacks",
		},
		{
			name:  "base Pod with a scalar spec",
			files: map[string]string{"base.yaml": "apiVersion: v1\nkind: Pod\nspec: 3\n", "x.yaml": family},
			want:  "DIR/base.yaml:1: the base Pod needs at least one container: its first container carries container attacks",
		},
		{
			name:  "alias bomb in the base Pod",
			files: map[string]string{"base.yaml": hostiletest.BillionLaughs("", "x"), "x.yaml": family},
			want:  "DIR/base.yaml: document contains excessive aliasing",
		},
		{
			name:  "alias bomb in an attack patch",
			files: map[string]string{"x.yaml": "name: x\ndescription: d\nscope: pod\nattack:\n  pod:\n" + hostiletest.BillionLaughs("    ", "a")},
			want:  "DIR/x.yaml: document contains excessive aliasing",
		},
		{
			name:  "deeply nested attack patch",
			files: map[string]string{"x.yaml": "name: x\ndescription: d\nscope: pod\nattack: {pod: " + strings.Repeat("{a: ", 20_000) + "1" + strings.Repeat("}", 20_000) + "}\n"},
			want:  "DIR/x.yaml:4: exceeded max depth of 10000 (see probes/families/README.md for the probe format)",
		},
		{
			name:  "binary junk",
			files: map[string]string{"x.yaml": "\x7fELF\x02\x01\x01\x00\x00"},
			want:  "DIR/x.yaml: control characters are not allowed",
		},
		{
			name:  "unknown field",
			files: map[string]string{"x.yaml": family + "colour: red\n"},
			want:  "DIR/x.yaml:5: field colour not found in type probes.probeFamily (see probes/families/README.md for the probe format)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			hostiletest.Within(t, func() {
				_, err := Load(dir)
				if err == nil {
					t.Fatal("Load succeeded, want an error")
				}
				if diff := cmp.Diff(strings.ReplaceAll(tt.want, "DIR", dir), err.Error()); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// TestProbeFilesOverSizeLimit: probe family files and a folder's base.yaml are read up to
// attacktrees.MaxFileSize, like tree and mapping files, so a huge file or a device that never
// ends cannot exhaust memory.
func TestProbeFilesOverSizeLimit(t *testing.T) {
	big := func(t *testing.T, file string) {
		t.Helper()
		f, err := os.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(attacktrees.MaxFileSize + 1); err != nil {
			t.Fatal(err)
		}
	}
	family := "name: x\ndescription: d\nscope: pod\nattack: {pod: {spec: {hostPID: true}}}\n"
	msg := fmt.Sprintf("file is larger than %d bytes: a probe family or base Pod is YAML of a few kilobytes; check the path", attacktrees.MaxFileSize)
	t.Run("family file", func(t *testing.T) {
		dir := t.TempDir()
		big(t, filepath.Join(dir, "x.yaml"))
		_, err := Load(dir)
		if want := filepath.Join(dir, "x.yaml") + ": " + msg; err == nil || err.Error() != want {
			t.Fatalf("Load: %v, want %s", err, want)
		}
	})
	t.Run("base.yaml", func(t *testing.T) {
		dir := t.TempDir()
		big(t, filepath.Join(dir, "base.yaml"))
		if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(family), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(dir)
		if want := filepath.Join(dir, "base.yaml") + ": " + msg; err == nil || err.Error() != want {
			t.Fatalf("Load: %v, want %s", err, want)
		}
	})
	t.Run("a device that never ends", func(t *testing.T) {
		if _, err := os.Stat("/dev/zero"); err != nil {
			t.Skip("no /dev/zero")
		}
		hostiletest.Within(t, func() {
			_, err := Load("/dev/zero")
			if want := "/dev/zero: " + msg; err == nil || err.Error() != want {
				t.Fatalf("Load: %v, want %s", err, want)
			}
		})
	})
}
