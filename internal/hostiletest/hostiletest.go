// Package hostiletest holds what the hostile-input tests of the loaders share: a bound that
// turns a hang into a failure naming the case, and the YAML alias bomb.
package hostiletest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Bound is how long any hostile input may take to be refused. Each case takes milliseconds
// (a 100,000-deep tree a few CPU seconds); the bound is generous because the machine may be
// shared, and only turns a hang into a failure naming the case instead of the whole test
// binary timing out.
const Bound = 5 * time.Minute

// Within runs fn and fails the test if it has not returned after Bound.
func Within(t testing.TB, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(Bound):
		t.Fatalf("still running after %s: hostile input must be refused promptly", Bound)
	}
}

// BillionLaughs is the YAML alias bomb: nine levels of nine aliases, 9^9 strings if expanded,
// the first under firstKey and the others under b to i. Every line is indented by indent.
func BillionLaughs(indent, firstKey string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n", indent, firstKey)
	names := "abcdefghi"
	for i := 1; i < len(names); i++ {
		prev := "*" + string(names[i-1])
		fmt.Fprintf(&b, "%s%c: &%c [%s]\n", indent, names[i], names[i], strings.TrimSuffix(strings.Repeat(prev+", ", 9), ", "))
	}
	return b.String()
}

// LinesName fails unless every line of err's message starts with "file:", so that a user with
// several input files knows which one to open.
func LinesName(t testing.TB, err error, file string) {
	t.Helper()
	msg := err.Error()
	if strings.TrimSpace(msg) == "" {
		t.Fatal("empty error")
	}
	for _, line := range strings.Split(msg, "\n") {
		if !strings.HasPrefix(line, file+":") {
			t.Fatalf("error line %q does not start with %s:\nwhole error:\n%s", line, file, msg)
		}
	}
}
