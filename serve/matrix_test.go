package serve

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/frameworks"
)

// The index draws the Threat Matrix: every technique once per tactic, mapped ones with their
// coverage class and links to their steps on the tree pages, and links the Navigator layer.
func TestIndexThreatMatrix(t *testing.T) {
	rec := get(t, testServer(t), http.MethodGet, "/")
	body := rec.Body.String()
	if !strings.Contains(body, `<h2 id="threat-matrix">Threat Matrix for Kubernetes</h2>`) {
		t.Fatal("no Threat Matrix on the index page")
	}
	cells := regexp.MustCompile(`<td class="m-([a-z-]+)"><span class="m-name">[^<]*</span> <code>(MS-TA9\d{3})</code>`).FindAllStringSubmatch(body, -1)
	// One cell per technique and tactic: 48 for the 40 techniques.
	want := 0
	for _, te := range frameworks.Get(frameworks.ThreatMatrix).Techniques() {
		want += len(te.Tactics)
	}
	if len(cells) != want || want != 48 {
		t.Errorf("%d technique cells, want %d (48)", len(cells), want)
	}
	mapped := 0
	for _, c := range cells {
		if c[1] != "unmapped" {
			mapped++
		}
	}
	if mapped == 0 {
		t.Error("no technique coloured by coverage")
	}
	if !regexp.MustCompile(`<details><summary>\d+ step\(s\)</summary><ul><li><a class="step s-[a-z-]+" href="/tree/[a-z-]+#d_[a-z0-9-]+">`).MatchString(body) {
		t.Error("no cell links its steps to their tree pages")
	}
	if !strings.Contains(body, `href="/reports/threatcov-layer.json"`) {
		t.Error("no link to the Navigator layer")
	}
}
