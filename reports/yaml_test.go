package reports

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// TestYAMLIsTheJSONDocument: -o yaml decodes to the same data as -o json, strings that look
// like other YAML types included.
func TestYAMLIsTheJSONDocument(t *testing.T) {
	tricky := map[string]any{"a": "123", "b": "yes", "c": "null", "d": "0x10", "e": "1e3", "f": "- x",
		"g": ": y", "h": "multi\nline", "i": 5.0, "j": true, "k": nil, "l": "~", "m": "#", "n": "2026-11-28"}
	r := smallResult()
	for name, v := range map[string]any{"tricky": tricky, "report": r} {
		t.Run(name, func(t *testing.T) {
			var js, ys bytes.Buffer
			if err := WriteJSON(&js, v); err != nil {
				t.Fatal(err)
			}
			if err := writeYAML(&ys, v); err != nil {
				t.Fatal(err)
			}
			var fromJSON, fromYAML any
			if err := json.Unmarshal(js.Bytes(), &fromJSON); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(ys.Bytes(), &fromYAML); err != nil {
				t.Fatal(err)
			}
			// YAML integers decode as int, JSON numbers as float64: compare through JSON.
			normal, err := json.Marshal(fromYAML)
			if err != nil {
				t.Fatal(err)
			}
			var back any
			if err := json.Unmarshal(normal, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(fromJSON, back); diff != "" {
				t.Errorf("YAML differs from JSON (-json +yaml):\n%s\n%s", diff, ys.String())
			}
		})
	}
}
