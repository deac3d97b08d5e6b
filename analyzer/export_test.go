package analyzer

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/attacktrees/openpsa"
	"github.com/threatcov/threatcov/internal/scramtest"
	"github.com/threatcov/threatcov/internal/treetest"
)

// TestExportCountsMatchSCRAM: `threatcov trees export --format openpsa` of a catalog, recounted
// by SCRAM, gives every goal the number of minimal attack paths the analyzer's model gives it.
// The embedded catalog has subtree boxes with children, references to trees with several goals,
// a sub-tree page and a reference cycle between the two scenarios; the small catalog adds a
// k-of-n gate inside a reference cycle whose boxes have children.
func TestExportCountsMatchSCRAM(t *testing.T) {
	bin := scramtest.Need(t)
	embedded, err := attacktrees.Default()
	if err != nil {
		t.Fatal(err)
	}
	small := []string{
		"id: a\ntitle: A\nnodes:\n  - {id: ga, kind: goal, gate: atleast, k: 2, label: GA, children: [ba, a1, x]}\n  - {id: ba, kind: subtree, label: to B, target: b, children: [a1, a2]}\n  - {id: a1, kind: step, label: A1}\n  - {id: x, kind: and, label: X, children: [ba, a2]}\n  - {id: a2, kind: step, label: A2}\n",
		"id: b\ntitle: B\nnodes:\n  - {id: gb, kind: goal, gate: or, label: GB, children: [bb, b1]}\n  - {id: bb, kind: subtree, label: to A, target: a, children: [b2]}\n  - {id: b1, kind: step, label: B1}\n  - {id: b2, kind: step, label: B2}\n  - {id: gb2, kind: goal, gate: and, label: GB2, children: [b1, b2]}\n",
	}
	smallCat := treetest.Catalog(t, small...)
	for name, c := range map[string]*attacktrees.Catalog{"embedded": embedded, "small": smallCat} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "catalog.xml")
			f, err := os.Create(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := openpsa.Export(f, c); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			scram := scramtest.Counts(t, bin, file)
			m, err := buildModel(c, nil)
			if err != nil {
				t.Fatal(err)
			}
			goals := 0
			for _, tr := range c.Trees() {
				for _, g := range c.Goals(tr.ID) {
					goals++
					got := m.engine.Count(int(g.GraphID()))
					want, ok := scram[g.ID]
					switch {
					case !ok:
						t.Errorf("%s: SCRAM reports no top gate for the goal", g.ID)
					case got.Cmp(want) != 0:
						t.Errorf("%s: threatcov counts %s minimal paths, SCRAM %s", g.ID, got, want)
					default:
						t.Logf("%s: %s paths", g.ID, got)
					}
				}
			}
			if len(scram) != goals {
				t.Errorf("SCRAM reports %d top gates, the catalog has %d goals", len(scram), goals)
			}
		})
	}
}
