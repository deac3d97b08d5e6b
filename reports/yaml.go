package reports

import (
	"bytes"
	"io"

	"gopkg.in/yaml.v3"
)

// writeYAML writes v as YAML with exactly the fields, names and order of its JSON form (the
// schema of docs/report-schema.md), by re-reading the JSON as a YAML document: JSON is YAML,
// and a yaml.Node keeps key order.
func writeYAML(w io.Writer, v any) error {
	var js bytes.Buffer
	if err := WriteJSON(&js, v); err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(js.Bytes(), &doc); err != nil {
		return err
	}
	blockStyle(&doc)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return enc.Close()
}

// blockStyle drops the flow and quoting styles the JSON parse left, so the encoder picks plain
// block YAML and quotes only where a scalar needs it. Iterative: a deep document costs no stack.
func blockStyle(root *yaml.Node) {
	stack := []*yaml.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n.Style = 0
		stack = append(stack, n.Content...)
	}
}
