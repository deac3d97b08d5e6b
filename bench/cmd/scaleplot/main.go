// Command scaleplot draws bench/scale.sh's table (.cache/bench/scale.md) as an SVG with
// gonum/plot: analyze's CPU time against the scale factor, log-log, one line per series
// (catalog copies, namespaces), with a line of slope 1 (linear growth) for reference.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

var (
	catalogRow = regexp.MustCompile(`^\| catalog x(\d+) \(\d+ trees\),.*, 1 namespace \| [^|]* \| ([0-9.]+) s \|`)
	nsRow      = regexp.MustCompile(`^\| catalog x1, .*, (\d+) namespaces \| [^|]* \| ([0-9.]+) s \|`)
)

func run(args []string, stderr io.Writer) int {
	fl := flag.NewFlagSet("scaleplot", flag.ContinueOnError)
	fl.SetOutput(stderr)
	in := fl.String("in", ".cache/bench/scale.md", "bench/scale.sh's table")
	out := fl.String("out", "docs/performance-scale.svg", "SVG to write")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	f, err := os.Open(*in)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer f.Close()
	var cat, ns plotter.XYs
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, s := range []struct {
			re  *regexp.Regexp
			dst *plotter.XYs
		}{{catalogRow, &cat}, {nsRow, &ns}} {
			if m := s.re.FindStringSubmatch(sc.Text()); m != nil {
				x, _ := strconv.ParseFloat(m[1], 64)
				y, _ := strconv.ParseFloat(m[2], 64)
				*s.dst = append(*s.dst, plotter.XY{X: x, Y: y})
			}
		}
	}
	if len(cat) == 0 && len(ns) == 0 {
		fmt.Fprintf(stderr, "%s: no rows from bench/scale.sh\n", *in)
		return 1
	}
	p := plot.New()
	p.Title.Text = "threatcov analyze: CPU time vs scale (example policy set)"
	p.X.Label.Text = "scale factor (catalog copies, or namespaces)"
	p.Y.Label.Text = "CPU time (s)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	var lines []any
	if len(cat) > 0 {
		lines = append(lines, "catalog x K (1 namespace)", cat)
	}
	if len(ns) > 0 {
		lines = append(lines, "N namespaces (catalog x1)", ns)
	}
	// Linear growth from the first catalog point, to read the slopes against.
	first := append(append(plotter.XYs{}, cat...), ns...)[0]
	maxX := 1.0
	for _, pt := range append(append(plotter.XYs{}, cat...), ns...) {
		maxX = math.Max(maxX, pt.X)
	}
	lines = append(lines, "linear (slope 1)", plotter.XYs{first, {X: maxX, Y: first.Y * maxX / first.X}})
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	p.Legend.Top, p.Legend.Left = true, true
	if err := p.Save(16*vg.Centimeter, 11*vg.Centimeter, *out); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stderr, "wrote %s\n", *out)
	return 0
}
