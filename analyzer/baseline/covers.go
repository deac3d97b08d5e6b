package baseline

import (
	"fmt"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
)

// CheckCovers returns an error unless r has a result for every tree and node of c (notes are
// not analysed): drawn against another catalog, a report would show the nodes it lacks as
// open. It is what `render --report` checks before drawing a saved report. O(nodes).
func CheckCovers(c *attacktrees.Catalog, r *analyzer.Result) error {
	trees := make(map[string]bool, len(r.Trees))
	for _, t := range r.Trees {
		trees[t.ID] = true
	}
	nodes := make(map[string]bool, len(r.Nodes))
	for _, n := range r.Nodes {
		nodes[n.ID] = true
	}
	const fix = "render with the --trees and --trees-mode of the analysis that wrote it"
	for _, t := range c.Trees() {
		if !trees[t.ID] {
			return fmt.Errorf("the report has no result for tree %q: %s", t.ID, fix)
		}
		for _, n := range t.Nodes {
			if n.Kind != attacktrees.KindNote && !nodes[n.ID] {
				return fmt.Errorf("the report has no result for node %q of tree %q: %s", n.ID, t.ID, fix)
			}
		}
	}
	return nil
}
