package policies

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

func (b *builder) addFile(path string) error {
	name := filepath.Base(path)
	ext := strings.ToLower(filepath.Ext(name))
	switch {
	case strings.HasSuffix(name, "_test.rego"):
		b.skip(Location{File: path}, "Rego test file")
		return nil
	case ext == ".rego", ext == ".yaml", ext == ".yml", ext == ".json":
	default:
		b.skip(Location{File: path}, "not a policy file (expected .rego, .yaml, .yml or .json)")
		return nil
	}
	data, err := readLimited(path)
	if err != nil {
		return err
	}
	if ext == ".rego" {
		return b.addRegoFile(path, data)
	}
	objs, err := decodeYAML(path, data)
	if err != nil {
		return err
	}
	if len(objs) == 0 {
		b.skip(Location{File: path}, "no YAML documents")
	}
	for _, o := range objs {
		b.addObject(o)
	}
	return nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInput, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %v", ErrInput, path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%w: %s: larger than %d MiB; split it or remove it from --policies", ErrInput, path, MaxFileSize>>20)
	}
	return data, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// decodeYAML splits a multi-document YAML (or JSON) file into objects, expanding kind: List,
// and records the line of every scalar value so embedded Rego keeps its file line.
func decodeYAML(path string, data []byte) ([]Object, error) {
	return decodeObjects(path, data, "--policies")
}

// decodeObjects is decodeYAML for a file given with flag, which its errors name.
func decodeObjects(path string, data []byte, flag string) ([]Object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Object
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			line := 0
			if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
				line, _ = strconv.Atoi(m[1])
				// yaml.v3 reports parser errors at the 0-based line of their context,
				// one above the line the user has to fix.
				if strings.Contains(err.Error(), "did not find expected") {
					line++
				}
			}
			return nil, fmt.Errorf("%w: %s: %v; fix the YAML syntax or remove the file from %s",
				ErrInput, Location{File: path, Line: line}, err, flag)
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue
		}
		if root.Kind != yaml.MappingNode {
			out = append(out, Object{Source: Location{File: path, Line: root.Line}})
			continue
		}
		v, err := nodeValue(root)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInput, Location{File: path, Line: root.Line}, err)
		}
		obj, _ := v.(map[string]any)
		if kind, _ := obj["kind"].(string); kind == "List" || strings.HasSuffix(kind, "List") && obj["items"] != nil {
			items := mappingChild(root, "items")
			list, _ := obj["items"].([]any)
			for i, it := range list {
				m, _ := it.(map[string]any)
				o := Object{Object: m, Source: Location{File: path, Line: root.Line}}
				if items != nil && i < len(items.Content) {
					o.Source.Line = items.Content[i].Line
					o.Lines = scalarLines(items.Content[i])
				}
				out = append(out, o)
			}
			continue
		}
		out = append(out, Object{Object: obj, Source: Location{File: path, Line: root.Line}, Lines: scalarLines(root)})
	}
}

func mappingChild(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scalarLines records where each string value's text starts: for a block scalar ("|" or ">")
// the text begins on the line after the indicator.
func scalarLines(root *yaml.Node) map[string]int {
	lines := map[string]int{}
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		if depth > 64 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], joinPath(path, n.Content[i].Value), depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, joinPath(path, strconv.Itoa(i)), depth+1)
			}
		case yaml.ScalarNode:
			if n.Tag != "!!str" {
				return
			}
			line := n.Line
			if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				line++
			}
			lines[path] = line
		}
	}
	walk(root, "", 0)
	return lines
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// nodeValue converts a YAML node into JSON-compatible Go values (string keys, no
// time.Time), the shape OPA and the Kubernetes decoders expect.
func nodeValue(n *yaml.Node) (any, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, err
	}
	return normalize(v), nil
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case []byte:
		return string(x)
	default:
		return v
	}
}
