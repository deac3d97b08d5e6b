package remedies_test

import (
	"os"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/remedies"
)

// TestDocsListEveryRemedy keeps docs/fix.md's table in step with the sources: one row per
// remedy, naming its families in order.
func TestDocsListEveryRemedy(t *testing.T) {
	data, err := os.ReadFile("../docs/fix.md")
	if err != nil {
		t.Fatal(err)
	}
	all, err := remedies.All()
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "| `") {
			rows++
		}
	}
	if rows != len(all) {
		t.Errorf("docs/fix.md lists %d policies, there are %d", rows, len(all))
	}
	for _, r := range all {
		row := "| `" + r.Name + "` | " + strings.Join(r.Families, ", ") + " |"
		if !strings.Contains(string(data), row) {
			t.Errorf("docs/fix.md has no row %q", row)
		}
	}
}
