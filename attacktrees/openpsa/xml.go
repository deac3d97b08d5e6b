package openpsa

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/threatcov/threatcov/attacktrees"
)

// MaxSize is the largest file Import reads (bytes); larger input is refused, not truncated.
const MaxSize = 64 << 20

// MaxDepth is the deepest element nesting Import accepts. Fault trees nest through gate
// references, which have no depth limit; only literal XML nesting is bounded.
const MaxDepth = 512

// elem is one XML element with the line its start tag ends on.
type elem struct {
	name  string
	attrs []xml.Attr
	kids  []*elem
	text  strings.Builder
	line  int
}

func (e *elem) attr(name string) (string, bool) {
	for _, a := range e.attrs {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// readXML parses r into elements, without recursion, refusing DTDs and entity declarations
// (there is no entity expansion: the only references are XML's five predefined ones).
func readXML(r io.Reader, file string) (*elem, error) {
	lr := &io.LimitedReader{R: r, N: MaxSize + 1}
	d := xml.NewDecoder(lr)
	d.Strict = true
	var root *elem
	var stack []*elem
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if lr.N <= 0 {
				return nil, fileErr(file, 0, "", "file is larger than %d MiB: split the model or raise openpsa.MaxSize", MaxSize>>20)
			}
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fileErr(file, se.Line, "", "not well-formed XML: %s", se.Msg)
			}
			return nil, fileErr(file, 0, "", "read: %v", err)
		}
		line, _ := d.InputPos()
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= MaxDepth {
				return nil, fileErr(file, line, "", "elements nested deeper than %d: name the inner formulas as gates", MaxDepth)
			}
			e := &elem{name: t.Name.Local, attrs: t.Attr, line: line}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, e)
			} else if root != nil {
				return nil, fileErr(file, line, "", "more than one root element")
			} else {
				root = e
			}
			stack = append(stack, e)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		case xml.Directive:
			return nil, fileErr(file, line, "", "DTD or entity declaration refused: remove the <!%s...> directive (threatcov does not expand XML entities)", firstWord(string(t)))
		}
	}
	if lr.N <= 0 {
		return nil, fileErr(file, 0, "", "file is larger than %d MiB: split the model or raise openpsa.MaxSize", MaxSize>>20)
	}
	if root == nil {
		return nil, fileErr(file, 0, "", "no XML element: expected an <opsa-mef> document")
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

func fileErr(file string, line int, node, format string, args ...any) *attacktrees.Error {
	return &attacktrees.Error{File: file, Line: line, Node: node, Msg: fmt.Sprintf(format, args...)}
}

// collapse joins the words of a label with single spaces, as the tree schema writes labels.
func collapse(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
