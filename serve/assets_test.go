package serve

import (
	"strings"
	"testing"

	"github.com/threatcov/threatcov/reports"
)

// TestFontFacesMatchReports: style.css declares the drawing fonts exactly as reports does, at
// the addresses the assets are served from, so an inline drawing is drawn with the metrics it
// was laid out with.
func TestFontFacesMatchReports(t *testing.T) {
	css := string(assets["style.css"].body)
	want := reports.FontFaceCSS(func(f reports.FontFile) string { return "/assets/" + f.Name })
	if !strings.Contains(css, want) {
		t.Errorf("style.css lacks the @font-face rules of reports.FontFaceCSS; paste them in:\n%s", want)
	}
	for _, f := range reports.Fonts() {
		if a, ok := assets[f.Name]; !ok || len(a.body) != len(f.Data) {
			t.Errorf("font %s is not served as an asset", f.Name)
		}
	}
}
