package baseline

import (
	"os"
	"strings"
	"testing"
)

// FuzzReadNamesFile starts from real reports (the reports package's golden JSON) and hostile
// JSON, reads each as a baseline and compares it with itself. A refusal must name the file
// first (it is shown to a user whose CI gate failed); anything read must compare without
// panicking. FuzzRead covers comparisons against a fixed result and the gate.
func FuzzReadNamesFile(f *testing.F) {
	for _, file := range []string{"../../reports/testdata/small/report.json", "../../reports/testdata/empty/report.json"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		strings.Repeat("[", 100_000),
		`{"schemaVersion": "threatcov.dev/report/v1", "trees": [{"goals": [{"id": "g", "openPathsNotShown": 1` + strings.Repeat("0", 300) + `}]}]}`,
		`{"schemaVersion": "threatcov.dev/report/v1", "trees": [{"goals": [{"id": "g"}, {"id": "g"}]}]}`,
		`{"schemaVersion": "threatcov.dev/report/v1", "trees": [{"goals": [{"id": "g", "openPaths": [{"steps": []}]}]}]}`,
		`{"schemaVersion": "threatcov.dev/report/v0"}`,
		`{"schemaVersion": "threatcov.dev/report/v1", "summary": {"paths": {"coverage": "all"}}}`,
		"\x00\x01\xff",
		"",
	} {
		f.Add([]byte(s))
	}
	const name = "fuzz/baseline.json"
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Read(strings.NewReader(string(data)), name)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, name+":") && !strings.HasPrefix(msg, "read report "+name) {
				t.Fatalf("error does not name %s first: %v", name, err)
			}
			return
		}
		d := Compare(r, r)
		if d == nil {
			t.Fatal("Compare returned nil")
		}
	})
}
