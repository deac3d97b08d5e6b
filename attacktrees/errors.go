package attacktrees

import (
	"fmt"
	"strings"
)

// Error is one problem in a tree file. It prints as "file:line: node ID: message", the shape
// editors and CI annotations understand.
type Error struct {
	File string
	Line int
	Node string
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Node != "" {
		fmt.Fprintf(&b, "node %q: ", e.Node)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one load, in file and line order. Loading reports all of
// them rather than stopping at the first, so one edit cycle fixes a file.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// errorList accumulates errors while loading.
type errorList struct{ errs Errors }

func (l *errorList) add(file string, line int, node, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: file, Line: line, Node: node, Msg: fmt.Sprintf(format, args...)})
}

func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	sortErrors(l.errs)
	return l.errs
}
