package reports

import (
	"bytes"
	"html"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/threatcov/threatcov/attacktrees"
)

// Graphviz has no dome and no pointed arch, so every node is laid out as a box (its label
// reserves the band a curved top needs, see domeBand and archBand) and drawShapes redraws each
// box as the CNCF legend's shape inside the same bounds. Edges end on the box's top side, which
// for a dome or an arch lies on or above the curve; the edge is lengthened to meet the curve.
//
// The output of graphviz's SVG renderer this relies on, for a node:
//
//	<g id="ID" class="node">
//	<title>ID</title>
//	<polygon fill=".." stroke=".." points="x,y x,y x,y x,y x,y"/>   (one per periphery)
//
// and for an edge: <g id=".." class="edge"><title>A&#45;&gt;B</title><path .. d="M..."/>
// <polygon .. points="..."/> (the arrowhead). Anything else is left as graphviz wrote it.

var (
	nodeOpen   = regexp.MustCompile(`<g id="([^"]*)" class="node">\n<title>[^<]*</title>\n`)
	polygonEl  = regexp.MustCompile(`^<polygon ([^>]*?)points="([^"]*)"/>\n`)
	edgeGroup  = regexp.MustCompile(`<g id="[^"]*" class="edge[^"]*">\n<title>([^<]*)</title>\n<path ([^>]*?)d="([^"]*)"/>\n<polygon ([^>]*?)points="([^"]*)"/>\n`)
	pointsPair = regexp.MustCompile(`(-?[0-9.]+),(-?[0-9.]+)`)
)

// box is a node's bounds in SVG coordinates (y grows downwards).
type box struct{ l, t, r, b float64 }

// drawShapes rewrites the node outlines of a rendered tree (see above) and marks each outline
// with class "shape". O(size of the SVG).
func drawShapes(svg []byte, t *attacktrees.Tree, v *view) []byte {
	type drawn struct {
		shape shapeKind
		count int // peripheries
	}
	nodes := map[string]drawn{}
	for _, n := range t.Nodes {
		shape, _, _ := nodeShape(n)
		count := 1
		if nr, ok := v.nodes[n.ID]; ok && n.Kind != attacktrees.KindNote {
			count = styleOf(nr.Status, nr.Evidence).peripheries
		}
		nodes[n.ID] = drawn{shape, count}
	}
	shapes := map[string]box{} // the outer outline of each dome and arch, for the edges
	out := make([]byte, 0, len(svg)+len(svg)/8)
	last := 0
	for _, m := range nodeOpen.FindAllSubmatchIndex(svg, -1) {
		id := html.UnescapeString(string(svg[m[2]:m[3]]))
		d, ok := nodes[id]
		if !ok {
			continue
		}
		out = append(out, svg[last:m[1]]...)
		pos := m[1]
		for i := 0; i < d.count; i++ {
			pm := polygonEl.FindSubmatchIndex(svg[pos:])
			if pm == nil {
				break
			}
			attrs := string(svg[pos+pm[2] : pos+pm[3]])
			bx, ok := bounds(string(svg[pos+pm[4] : pos+pm[5]]))
			if !ok {
				break
			}
			out = append(out, `<path class="shape" `...)
			out = append(out, attrs...)
			out = append(out, `d="`...)
			out = append(out, shapePath(d.shape, bx)...)
			out = append(out, "\"/>\n"...)
			if (d.shape == shapeDome || d.shape == shapeArch) && i == 0 {
				shapes[id] = bx // the outer periphery, where edges end
			}
			pos += pm[1]
		}
		last = pos
	}
	out = append(out, svg[last:]...)
	kinds := make(map[string]shapeKind, len(nodes))
	for id, d := range nodes {
		kinds[id] = d.shape
	}
	return lengthenEdges(out, shapes, kinds)
}

// bounds is the bounding box of an SVG points list.
func bounds(points string) (box, bool) {
	ps := pointsPair.FindAllStringSubmatch(points, -1)
	if len(ps) < 3 {
		return box{}, false
	}
	bx := box{l: 1e18, t: 1e18, r: -1e18, b: -1e18}
	for _, p := range ps {
		x, err1 := strconv.ParseFloat(p[1], 64)
		y, err2 := strconv.ParseFloat(p[2], 64)
		if err1 != nil || err2 != nil {
			return box{}, false
		}
		bx.l, bx.r = min(bx.l, x), max(bx.r, x)
		bx.t, bx.b = min(bx.t, y), max(bx.b, y)
	}
	return bx, true
}

// num prints a coordinate as graphviz does, to two decimals.
func num(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// shapePath is the SVG path of a shape filling bx.
func shapePath(s shapeKind, bx box) string {
	l, t, r, b := bx.l, bx.t, bx.r, bx.b
	w, h := r-l, b-t
	cx := (l + r) / 2
	var p strings.Builder
	add := func(parts ...any) {
		for _, x := range parts {
			switch x := x.(type) {
			case float64:
				p.WriteString(num(x))
			case string:
				p.WriteString(x)
			}
		}
	}
	switch s {
	case shapeRect:
		add("M", l, ",", t, "H", r, "V", b, "H", l, "Z")
	case shapeDome:
		// A half ellipse as wide as the box on top of a rectangle; bottom corners a little round.
		band, rc := min(float64(domeBand), h/2), min(4, h/6)
		add("M", l, ",", t+band, "A", w/2, ",", band, " 0 0 1 ", r, ",", t+band,
			"V", b-rc, "Q", r, ",", b, " ", r-rc, ",", b, "H", l+rc, "Q", l, ",", b, " ", l, ",", b-rc, "Z")
	case shapeArch:
		// Two curves rising from the vertical sides to a point: the legend's pointed arch.
		band, rc := min(float64(archBand), h/2), min(4, h/6)
		add("M", l, ",", t+band,
			"C", l, ",", t+0.4*band, " ", cx-0.25*w, ",", t+0.25*band, " ", cx, ",", t,
			"C", cx+0.25*w, ",", t+0.25*band, " ", r, ",", t+0.4*band, " ", r, ",", t+band,
			"V", b-rc, "Q", r, ",", b, " ", r-rc, ",", b, "H", l+rc, "Q", l, ",", b, " ", l, ",", b-rc, "Z")
	default: // rounded box
		rc := min(7, h/4, w/4)
		add("M", l+rc, ",", t, "H", r-rc, "Q", r, ",", t, " ", r, ",", t+rc, "V", b-rc, "Q", r, ",", b, " ", r-rc, ",", b,
			"H", l+rc, "Q", l, ",", b, " ", l, ",", b-rc, "V", t+rc, "Q", l, ",", t, " ", l+rc, ",", t, "Z")
	}
	return p.String()
}

// topAt is the y of a dome's or arch's outline at x (its box's top for other shapes).
func topAt(s shapeKind, bx box, x float64) float64 {
	w, h := bx.r-bx.l, bx.b-bx.t
	cx := (bx.l + bx.r) / 2
	dx := min(abs(x-cx)/(w/2), 1)
	switch s {
	case shapeDome:
		band := min(float64(domeBand), h/2)
		return bx.t + band - band*sqrtf(1-dx*dx)
	case shapeArch:
		band := min(float64(archBand), h/2)
		// Walk the right-hand cubic (mirror for the left) to the parameter whose x is x.
		p0x, p1x, p2x, p3x := 0.0, 0.25, 0.5, 0.5 // in units of w, from cx
		p0y, p1y, p2y, p3y := 0.0, 0.25, 0.4, 1.0 // in units of band, from the top
		target := dx / 2
		lo, hi := 0.0, 1.0
		for range 30 {
			m := (lo + hi) / 2
			if bez(p0x, p1x, p2x, p3x, m) < target {
				lo = m
			} else {
				hi = m
			}
		}
		return bx.t + band*bez(p0y, p1y, p2y, p3y, lo)
	}
	return bx.t
}

func bez(a, b, c, d, t float64) float64 {
	u := 1 - t
	return u*u*u*a + 3*u*u*t*b + 3*u*t*t*c + t*t*t*d
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func sqrtf(f float64) float64 { return math.Sqrt(max(f, 0)) }

// lengthenEdges moves the arrowhead of every edge that enters a dome or an arch from above
// down onto the curve, and extends the edge's last segment to it.
func lengthenEdges(svg []byte, shapes map[string]box, kinds map[string]shapeKind) []byte {
	if len(shapes) == 0 {
		return svg
	}
	return edgeGroup.ReplaceAllFunc(svg, func(g []byte) []byte {
		m := edgeGroup.FindSubmatch(g)
		title := html.UnescapeString(string(m[1]))
		_, head, ok := strings.Cut(title, "->")
		if !ok {
			return g
		}
		bx, ok := shapes[head]
		if !ok {
			return g
		}
		pts := pointsPair.FindAllSubmatch(m[5], -1)
		if len(pts) < 3 {
			return g
		}
		// The tip is the arrowhead point lowest on the page; move only arrows that point down.
		tipX, tipY := 0.0, -1e18
		for _, p := range pts {
			x, _ := strconv.ParseFloat(string(p[1]), 64)
			y, _ := strconv.ParseFloat(string(p[2]), 64)
			if y > tipY {
				tipX, tipY = x, y
			}
		}
		if abs(tipY-bx.t) > 1.5 {
			return g // enters from a side
		}
		dy := topAt(kinds[head], bx, tipX) - tipY
		if dy < 0.5 {
			return g
		}
		var poly strings.Builder
		for i, p := range pts {
			x, _ := strconv.ParseFloat(string(p[1]), 64)
			y, _ := strconv.ParseFloat(string(p[2]), 64)
			if i > 0 {
				poly.WriteByte(' ')
			}
			poly.WriteString(num(x) + "," + num(y+dy))
		}
		var b bytes.Buffer
		start := bytes.Index(g, m[3])
		b.Write(g[:start])
		b.Write(m[3])
		x, y := lastPoint(m[3])
		b.WriteString(" L" + num(x) + "," + num(y+dy))
		rest := g[start+len(m[3]):]
		pstart := bytes.Index(rest, m[5])
		b.Write(rest[:pstart])
		b.WriteString(poly.String())
		b.Write(rest[pstart+len(m[5]):])
		return b.Bytes()
	})
}

// lastPoint is the last point of a path's d attribute.
func lastPoint(d []byte) (x, y float64) {
	ps := pointsPair.FindAllSubmatch(d, -1)
	if len(ps) == 0 {
		return 0, 0
	}
	x, _ = strconv.ParseFloat(string(ps[len(ps)-1][1]), 64)
	y, _ = strconv.ParseFloat(string(ps[len(ps)-1][2]), 64)
	return x, y
}
