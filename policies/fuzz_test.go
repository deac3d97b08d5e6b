package policies

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the YAML and Rego discovery: it must return objects or
// an error, never panic or hang.
func FuzzDecode(f *testing.F) {
	for _, dir := range []string{"testdata/inventory/gatekeeper", "testdata/inventory/cluster", "testdata/inventory/rego", "testdata/broken/yaml"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("a: &a [*a, *a]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n"))
	f.Add([]byte("kind: List\nitems: [1, {kind: Namespace}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b := newBuilder()
		if objs, err := decodeYAML("fuzz.yaml", data); err == nil {
			for _, o := range objs {
				b.addObject(o)
			}
		}
		_ = b.addRegoFile("fuzz.rego", data)
		if inv, err := b.build(); err == nil {
			if _, err := NewEvaluator(inv); err != nil {
				t.Fatal(err)
			}
		}
	})
}
