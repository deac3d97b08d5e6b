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

	"github.com/threatcov/threatcov/internal/yamldoc"
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
	t, root := parseValid(data)
	var errs errorList
	if t == nil {
		var err error
		if t, root, err = parseStrict(data, file, &errs); err != nil {
			return nil, err
		}
	}
	t.File = file
	locate(t, root)
	checkTree(t, &errs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return t, nil
}

// parseValid decodes a file that is one well-formed tree document, parsing the YAML once: it
// returns nil (and parseStrict must run) on anything else, such as a syntax error, a decoding
// error, a field the schema does not know, a merge key, an alias anywhere, or a
// second document. On the files it accepts, parseStrict decodes the same tree without errors;
// parsing twice was most of the cost of loading a large catalog.
func parseValid(data []byte) (*Tree, *yaml.Node) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil || doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	if line, err := yamldoc.Extra(dec); err != nil || line > 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if hasAlias(root) || !knownKeys(root, treeFields) {
		return nil, nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "nodes" || root.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		for _, item := range root.Content[i+1].Content {
			if item.Kind == yaml.MappingNode && !knownKeys(item, nodeFields) {
				return nil, nil
			}
		}
	}
	var t Tree
	// The document node decodes as Decoder.Decode decodes it; only unknown fields would be
	// reported differently, and knownKeys ruled them out.
	if err := doc.Decode(&t); err != nil {
		return nil, nil
	}
	return &t, root
}

// Fields of the YAML schema, as the yaml tags of Tree and Node name them.
var (
	treeFields = map[string]bool{"id": true, "title": true, "source": true, "nodes": true}
	nodeFields = map[string]bool{"id": true, "kind": true, "gate": true, "k": true, "label": true,
		"ref": true, "children": true, "target": true, "annotates": true, "tbc": true, "page": true,
		"ambiguity": true}
)

// hasAlias reports whether an alias occurs anywhere under n: with none, every mapping decoded
// into a Tree or Node is one knownKeys checked.
func hasAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c) {
			return true
		}
	}
	return false
}

// knownKeys reports whether n is a mapping whose keys are all plain strings among fields.
func knownKeys(n *yaml.Node, fields map[string]bool) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" || !fields[k.Value] {
			return false
		}
	}
	return true
}

// parseStrict decodes one tree with every check and the exact messages of the YAML library,
// parsing the YAML twice (once for line numbers, once to decode with unknown fields as
// errors). Decoding errors are added to errs; an error return is fatal for the file.
func parseStrict(data []byte, file string, errs *errorList) (*Tree, *yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, yamlError(file, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil, &Error{File: file, Line: 1, Msg: "empty file: a tree needs id, title and nodes (see docs/attack-trees.md)"}
	}
	var t Tree
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, nil, yamlError(file, err)
		}
		for _, msg := range te.Errors {
			line, text := splitYAMLLine(msg)
			errs.add(file, line, "", "%s (see docs/attack-trees.md for the fields)", text)
		}
	}
	// One file holds one tree: a later document would otherwise be dropped without a word.
	// Empty documents (a trailing "---") are fine.
	line, err := yamldoc.Extra(dec)
	if err != nil {
		return nil, nil, yamlError(file, err)
	}
	if line > 0 {
		errs.add(file, line, "", "a second YAML document: one file holds one tree; move it to a file of its own")
	}
	return &t, doc.Content[0], nil
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
