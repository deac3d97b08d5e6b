package reports

import (
	"bytes"
	"io"
	"testing"

	"github.com/threatcov/threatcov/analyzer/baseline"
)

// FuzzDiff is `threatcov diff` on a hostile file: read as a baseline, compared both ways with
// a real report and rendered in every diff format, it must give an error or output, never a
// panic or a hang.
func FuzzDiff(f *testing.F) {
	var good bytes.Buffer
	if err := Render(&good, "json", smallResult(), nil); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add([]byte(`{"schemaVersion": "threatcov.dev/report/v1", "trees": [{"id": "demo", "goals": [{"id": "demo-goal", "status": "blocked"}]}], "steps": [{"node": "other-step", "status": "blocked", "blocking": ["p"]}]}`))
	f.Add([]byte(`{"schemaVersion": "threatcov.dev/report/v1", "summary": {"goals": null, "paths": {"open": -5}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		hostile, err := baseline.Read(bytes.NewReader(data), "fuzz.json")
		if err != nil {
			return
		}
		for _, d := range []*baseline.Diff{baseline.Compare(hostile, smallResult()), baseline.Compare(smallResult(), hostile), baseline.Compare(hostile, hostile)} {
			for _, format := range DiffFormats {
				if err := WriteDiff(io.Discard, format, d); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, format := range []string{"table", "markdown", "sarif", "junit", "yaml"} {
			if err := Render(io.Discard, format, hostile, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}
