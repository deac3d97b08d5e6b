package attacktrees

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"

	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest tree file threatcov reads. The CNCF trees are a few kilobytes; a
// bigger file is almost certainly not a tree, and refusing it bounds memory on hostile input.
const MaxFileSize = 8 << 20

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// ReadFile reads and parses one tree file. See Parse.
func ReadFile(path string) (*Tree, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read tree file: %v", err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read tree file: %v", err)}
	}
	return Parse(data, path)
}

// Parse decodes one tree from YAML and checks it on its own (ids, kinds, gates, children within
// the file, cycles, reachability). References to other trees are checked by Build. Decoding is
// strict: unknown fields are errors. All problems are returned together as Errors.
func Parse(data []byte, file string) (*Tree, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{File: file, Msg: fmt.Sprintf("file is larger than %d bytes: a tree file is YAML of a few kilobytes; check the path", MaxFileSize)}
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, &Error{File: file, Line: 1, Msg: "file contains NUL bytes: this is not a YAML tree file"}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{File: file, Line: 1, Msg: "empty file: a tree needs id, title and nodes (see docs/attack-trees.md)"}
	}
	var t Tree
	var errs errorList
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, yamlError(file, err)
		}
		for _, msg := range te.Errors {
			line, text := splitYAMLLine(msg)
			errs.add(file, line, "", "%s (see docs/attack-trees.md for the fields)", text)
		}
	}
	// One file holds one tree: a later document would otherwise be dropped without a word.
	// Empty documents (a trailing "---") are fine.
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, yamlError(file, err)
		}
		if len(extra.Content) > 0 && extra.Content[0].Tag != "!!null" {
			errs.add(file, extra.Content[0].Line, "", "a second YAML document: one file holds one tree; move it to a file of its own")
			break
		}
	}
	t.File = file
	locate(&t, doc.Content[0])
	checkTree(&t, &errs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return &t, nil
}

// locate copies line numbers from the YAML node tree onto the decoded tree so that every later
// error can name its line.
func locate(t *Tree, root *yaml.Node) {
	if root.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		switch key.Value {
		case "id":
			t.Line = key.Line
		case "nodes":
			if val.Kind != yaml.SequenceNode {
				continue
			}
			for j, item := range val.Content {
				if j < len(t.Nodes) && t.Nodes[j] != nil {
					t.Nodes[j].Line = item.Line
				}
			}
		}
	}
	if t.Line == 0 {
		t.Line = root.Line
	}
}

func yamlError(file string, err error) error {
	line, text := splitYAMLLine(err.Error())
	return &Error{File: file, Line: line, Msg: "invalid YAML: " + text}
}

func splitYAMLLine(msg string) (int, string) {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n, m[2]
	}
	return 0, msg
}

func sortErrors(es Errors) {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].File != es[j].File {
			return es[i].File < es[j].File
		}
		return es[i].Line < es[j].Line
	})
}

// WriteYAML writes a tree in the schema it is read from (two-space indent), so the output
// loads back with Parse. `trees show -o yaml`, `trees import` and the importers' golden files
// all use it.
func WriteYAML(w io.Writer, t *Tree) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(t); err != nil {
		return err
	}
	return enc.Close()
}
