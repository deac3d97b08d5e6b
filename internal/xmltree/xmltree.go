// Package xmltree reads the XML files the importers accept (Open-PSA MEF, ADTool) into a plain
// element tree, guarded for untrusted input: no DTDs or entity declarations (nothing is
// expanded; only XML's five predefined references exist), a size limit, an optional depth
// limit, and no recursion (an ADTool tree nests as deep as it is tall).
//
// It knows nothing of either format. Read is O(size of the file); errors are
// *attacktrees.Error naming the file and line.
package xmltree

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/threatcov/threatcov/attacktrees"
)

// Elem is one XML element with the line its start tag ends on.
type Elem struct {
	Name  string
	Attrs []xml.Attr
	Kids  []*Elem
	Text  strings.Builder
	Line  int
}

// Attr returns the value of the attribute with the given local name.
func (e *Elem) Attr(name string) (string, bool) {
	for _, a := range e.Attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// Limits bound what Read accepts.
type Limits struct {
	// MaxSize is the largest input in bytes; larger input is refused, not truncated.
	MaxSize int64
	// MaxDepth is the deepest element nesting accepted (0: no limit).
	MaxDepth int
	// Root names the expected root element in messages, e.g. "<opsa-mef>".
	Root string
	// SizeHint says what to do about a file over MaxSize, e.g. "split the model or raise openpsa.MaxSize".
	SizeHint string
	// DepthHint says what to do about nesting deeper than MaxDepth.
	DepthHint string
}

// Read parses r into elements.
func Read(r io.Reader, file string, l Limits) (*Elem, error) {
	lr := &io.LimitedReader{R: r, N: l.MaxSize + 1}
	d := xml.NewDecoder(lr)
	d.Strict = true
	tooBig := func() error {
		return Errorf(file, 0, "", "file is larger than %d MiB: %s", l.MaxSize>>20, l.SizeHint)
	}
	var root *Elem
	var stack []*Elem
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if lr.N <= 0 {
				return nil, tooBig()
			}
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, Errorf(file, se.Line, "", "not well-formed XML: %s", se.Msg)
			}
			return nil, Errorf(file, 0, "", "read: %v", err)
		}
		line, _ := d.InputPos()
		switch t := tok.(type) {
		case xml.StartElement:
			if l.MaxDepth > 0 && len(stack) >= l.MaxDepth {
				return nil, Errorf(file, line, "", "elements nested deeper than %d: %s", l.MaxDepth, l.DepthHint)
			}
			e := &Elem{Name: t.Name.Local, Attrs: t.Attr, Line: line}
			switch {
			case len(stack) > 0:
				p := stack[len(stack)-1]
				p.Kids = append(p.Kids, e)
			case root != nil:
				return nil, Errorf(file, line, "", "more than one root element")
			default:
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].Text.Write(t)
			}
		case xml.Directive:
			return nil, Errorf(file, line, "", "DTD or entity declaration refused: remove the <!%s...> directive (threatcov does not expand XML entities)", firstWord(string(t)))
		}
	}
	if lr.N <= 0 {
		return nil, tooBig()
	}
	if root == nil {
		return nil, Errorf(file, 0, "", "no XML element: expected an %s document", l.Root)
	}
	return root, nil
}

func firstWord(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t\r\n["); i >= 0 {
		return s[:i]
	}
	return s
}

// Errorf builds an import error naming the file, line and node.
func Errorf(file string, line int, node, format string, args ...any) *attacktrees.Error {
	return &attacktrees.Error{File: file, Line: line, Node: node, Msg: fmt.Sprintf(format, args...)}
}
