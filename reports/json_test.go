package reports

import (
	"bytes"
	"encoding/json"
	"math/big"
	"testing"
	"time"
)

// TestWriteJSONMatchesEncoder: streaming field by field gives exactly the bytes of one
// indented, non-HTML-escaping json.Encoder run, for the shapes reports use and the ones that
// must fall back to the encoder.
func TestWriteJSONMatchesEncoder(t *testing.T) {
	type inner struct {
		A string   `json:"a"`
		B []int    `json:"b,omitempty"`
		C *big.Int `json:"c"`
	}
	type embedded struct{ inner }
	type doc struct {
		Name     string `json:"name"`
		HTML     string `json:"html"`
		Skipped  string `json:"-"`
		NoTag    int
		Empty    []inner           `json:"empty"`
		Nil      []inner           `json:"nil"`
		Omitted  []inner           `json:"omitted,omitempty"`
		Items    []inner           `json:"items"`
		Bytes    []byte            `json:"bytes"`
		Map      map[string]any    `json:"map,omitempty"`
		When     time.Time         `json:"when"`
		Ptr      *inner            `json:"ptr"`
		Zero     int               `json:"zero,omitempty"`
		Nums     []*big.Int        `json:"nums"`
		Nested   [][]string        `json:"nested"`
		Raw      json.RawMessage   `json:"raw"`
		Strs     map[string]string `json:"strs"`
		lower    int
		Interfce any `json:"iface,omitempty"`
	}
	full := doc{
		Name: "x", HTML: "<a href=\"&\">", NoTag: 3, Empty: []inner{},
		Items:  []inner{{A: "<b>", B: []int{1, 2}, C: big.NewInt(7)}, {A: "", C: nil}},
		Bytes:  []byte("hi"),
		Map:    map[string]any{"z": 1, "a": []any{"x", map[string]any{}}},
		When:   time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC),
		Ptr:    &inner{A: "p"},
		Nums:   []*big.Int{big.NewInt(1), nil},
		Nested: [][]string{{}, {"a", "b"}},
		Raw:    json.RawMessage(`{"k": [1, 2]}`),
		lower:  1,
	}
	res, _ := catalogResult(t)
	for name, v := range map[string]any{
		"catalog result": res,
		"full":           full,
		"pointer":        &full,
		"zero":           doc{},
		"empty struct":   struct{}{},
		"only omitted": struct {
			A []int `json:"a,omitempty"`
		}{},
		"embedded":    embedded{inner{A: "e"}},
		"marshaler":   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"slice":       []inner{{A: "s"}},
		"map":         map[string]int{"b": 1, "a": 2},
		"string":      "<&>",
		"nil":         nil,
		"nil pointer": (*doc)(nil),
	} {
		t.Run(name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteJSON(&got, v); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("WriteJSON differs from the encoder:\n got: %s\nwant: %s", got.Bytes(), want.Bytes())
			}
		})
	}
}
