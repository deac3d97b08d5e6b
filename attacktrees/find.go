package attacktrees

import (
	"fmt"
	"sort"
	"strings"
)

// FindTree returns the tree with id, or an error naming the closest tree ids ("did you
// mean") and where to list them.
func (c *Catalog) FindTree(id string) (*Tree, error) {
	if t, ok := c.Tree(id); ok {
		return t, nil
	}
	ids := make([]string, len(c.trees))
	for i, t := range c.trees {
		ids[i] = t.ID
	}
	return nil, fmt.Errorf("no tree %q%s: run 'threatcov trees list' for the tree ids", id, didYouMean(id, ids))
}

// FindNode returns the node with id q or, failing that, the one node whose label is q
// (compared without case), so a reader can name a step as the PDF does. An unknown or
// ambiguous name is an error naming the closest node ids.
func (c *Catalog) FindNode(q string) (*Node, error) {
	if n, ok := c.Node(q); ok {
		return n, nil
	}
	var byLabel []string
	ids := make([]string, 0, len(c.nodes))
	for _, n := range c.nodes {
		ids = append(ids, n.ID)
		if strings.EqualFold(strings.TrimSpace(n.Label), strings.TrimSpace(q)) {
			byLabel = append(byLabel, n.ID)
		}
	}
	switch len(byLabel) {
	case 1:
		n, _ := c.Node(byLabel[0])
		return n, nil
	case 0:
		return nil, fmt.Errorf("no node %q%s: run 'threatcov trees show TREE' for node ids", q, didYouMean(q, ids))
	}
	sort.Strings(byLabel)
	return nil, fmt.Errorf("%d nodes are labelled %q (%s): name one by its id", len(byLabel), q, strings.Join(byLabel, ", "))
}

// didYouMean suggests up to three candidates close to q: by edit distance (at most a third of
// q's length, at least 2), or containing q.
func didYouMean(q string, candidates []string) string {
	type scored struct {
		id   string
		dist int
	}
	limit := max(2, len(q)/3)
	var close []scored
	for _, c := range candidates {
		d := editDistance(strings.ToLower(q), strings.ToLower(c))
		if d <= limit || (len(q) >= 3 && strings.Contains(strings.ToLower(c), strings.ToLower(q))) {
			close = append(close, scored{c, d})
		}
	}
	if len(close) == 0 {
		return ""
	}
	sort.Slice(close, func(i, j int) bool {
		if close[i].dist != close[j].dist {
			return close[i].dist < close[j].dist
		}
		return close[i].id < close[j].id
	})
	var names []string
	for i := 0; i < len(close) && i < 3; i++ {
		names = append(names, close[i].id)
	}
	return " (did you mean " + strings.Join(names, ", ") + "?)"
}

// editDistance is the Levenshtein distance between a and b (bytes), O(len(a) x len(b)).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
