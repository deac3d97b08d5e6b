package xmltree

import (
	"strconv"
	"strings"
)

// ID maps an imported name to the tree schema's id alphabet [a-z0-9-]: lower case, every run
// of other characters one '-', no '-' at either end, at most max bytes (0: no limit), "n" if
// nothing is left.
func ID(s string, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if max > 0 && b.Len() >= max {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if b.Len() > 0 && !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if out == "" {
		return "n"
	}
	return out
}

// IDSet hands out unique ids: id, or id-2, id-3, ... the first not yet used. It remembers the
// next suffix per base id, so a thousand nodes of one name cost linear time, not quadratic.
type IDSet struct {
	used map[string]bool
	next map[string]int
}

// NewIDSet returns an empty IDSet.
func NewIDSet() *IDSet { return &IDSet{used: map[string]bool{}, next: map[string]int{}} }

// Unique returns id, or the first id-N not yet handed out, and marks it used.
func (s *IDSet) Unique(id string) string {
	out := id
	if s.used[out] {
		i := max(s.next[id], 2)
		for s.used[id+"-"+strconv.Itoa(i)] {
			i++
		}
		out = id + "-" + strconv.Itoa(i)
		s.next[id] = i + 1
	}
	s.used[out] = true
	return out
}
