package reports

import (
	"math"
	"strings"
	"testing"
)

// TestTopAt: a dome's and an arch's outline meet the box's top at the centre and drop to the
// band's foot at the sides; a box's top is flat.
func TestTopAt(t *testing.T) {
	bx := box{l: 0, t: -100, r: 100, b: 0}
	tests := []struct {
		name  string
		shape shapeKind
		x     float64
		want  float64
	}{
		{"dome centre", shapeDome, 50, -100},
		{"dome side", shapeDome, 0, -100 + domeBand},
		{"dome halfway", shapeDome, 25, -100 + domeBand - domeBand*math.Sqrt(0.75)},
		{"arch apex", shapeArch, 50, -100},
		{"arch side", shapeArch, 100, -100 + archBand},
		{"box", shapeRounded, 10, -100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := topAt(tc.shape, bx, tc.x); math.Abs(got-tc.want) > 0.01 {
				t.Errorf("topAt(%v, x=%v) = %.2f, want %.2f", tc.shape, tc.x, got, tc.want)
			}
		})
	}
}

// TestLengthenEdges: an arrow ending on a dome's box top beside the centre is moved down onto
// the curve and its path extended; one entering from the side is left alone.
func TestLengthenEdges(t *testing.T) {
	edge := func(tipX, tipY float64) string {
		return `<g id="e" class="edge">` + "\n<title>a&#45;&gt;b</title>\n" +
			`<path fill="none" stroke="#333333" d="M` + num(tipX) + `,-200C` + num(tipX) + `,-150 ` + num(tipX) + `,-120 ` + num(tipX) + `,` + num(tipY-6) + `"/>` + "\n" +
			`<polygon fill="#333333" stroke="#333333" points="` + num(tipX+2) + `,` + num(tipY-6) + ` ` + num(tipX) + `,` + num(tipY) + ` ` + num(tipX-2) + `,` + num(tipY-6) + ` ` + num(tipX+2) + `,` + num(tipY-6) + `"/>` + "\n</g>\n"
	}
	shapes := map[string]box{"b": {l: 0, t: -100, r: 100, b: 0}}
	kinds := map[string]shapeKind{"b": shapeDome}
	got := string(lengthenEdges([]byte(edge(10, -100)), shapes, kinds))
	dy := topAt(shapeDome, shapes["b"], 10) + 100
	if !strings.Contains(got, " L10.00,"+num(-106+dy)) || !strings.Contains(got, "10.00,"+num(-100+dy)) {
		t.Errorf("the arrow was not moved %.2f down onto the dome:\n%s", dy, got)
	}
	side := edge(10, -60)
	if got := string(lengthenEdges([]byte(side), shapes, kinds)); got != side {
		t.Errorf("an edge entering from the side was changed:\n%s", got)
	}
}
