// Command scaleplot draws bench/scale.sh's table (.cache/bench/scale.md) as an SVG with
// gonum/plot: analyze's CPU time against the scale factor, log-log, one line per series
// (catalog copies, namespaces, generated policies, generated probes, generated Gatekeeper
// templates), each with a dashed line
// of slope 1 (linear growth) from its first point for reference.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"image/color"
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
	catalogRow    = regexp.MustCompile(`^\| catalog x(\d+) \(\d+ trees\),.*, 1 namespace \| [^|]* \| ([0-9.]+) s \|`)
	nsRow         = regexp.MustCompile(`^\| catalog x1, .*, (\d+) namespaces \| [^|]* \| ([0-9.]+) s \|`)
	policyRow     = regexp.MustCompile(`^\| generated set, policy series: (\d+) policies, \d+ probes .*\| [^|]* \| ([0-9.]+) s \|`)
	probeRow      = regexp.MustCompile(`^\| generated set, probe series: \d+ policies, (\d+) probes .*\| [^|]* \| ([0-9.]+) s \|`)
	templateRow   = regexp.MustCompile(`^\| generated set, template series: (\d+) Gatekeeper templates .*\| [^|]* \| ([0-9.]+) s \|`)
	templateFixed = regexp.MustCompile(`^\| generated set, template series: \d+ Gatekeeper templates \(\d+ constraints\), (\d+) probes`)
	fixedRe       = regexp.MustCompile(`^\| generated set, (policy|probe) series: (\d+) policies, (\d+) probes`)
)

// series is one line of the plot: the rows its pattern matches.
type series struct {
	re     *regexp.Regexp
	legend string
	pts    plotter.XYs
}

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
	all := []*series{
		{re: catalogRow, legend: "catalog x K (1 namespace)"},
		{re: nsRow, legend: "N namespaces (catalog x1)"},
		{re: policyRow, legend: "P generated policies"},
		{re: probeRow, legend: "Q generated probes"},
		{re: templateRow, legend: "T generated Gatekeeper templates"},
	}
	fixed := map[string]string{} // series -> the count held fixed
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, s := range all {
			if m := s.re.FindStringSubmatch(sc.Text()); m != nil {
				x, _ := strconv.ParseFloat(m[1], 64)
				y, _ := strconv.ParseFloat(m[2], 64)
				s.pts = append(s.pts, plotter.XY{X: x, Y: y})
			}
		}
		if m := fixedRe.FindStringSubmatch(sc.Text()); m != nil {
			if m[1] == "policy" {
				fixed["policy"] = m[3] + " probes"
			} else {
				fixed["probe"] = m[2] + " policies"
			}
		}
		if m := templateFixed.FindStringSubmatch(sc.Text()); m != nil {
			fixed["template"] = m[1] + " probes"
		}
	}
	all[2].legend += " (" + fixed["policy"] + ")"
	all[3].legend += " (" + fixed["probe"] + ")"
	all[4].legend += " (" + fixed["template"] + ")"
	p := plot.New()
	p.Title.Text = "threatcov analyze: CPU time vs scale"
	p.X.Label.Text = "scale (catalog copies, namespaces, policies, probes or templates)"
	p.Y.Label.Text = "CPU time (s)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	p.Add(plotter.NewGrid())
	var lines []any
	var refs []plotter.XYs
	for _, s := range all {
		if len(s.pts) == 0 {
			continue
		}
		lines = append(lines, s.legend, s.pts)
		// Linear growth from the series' first point to its last x, to read its slope against.
		first, maxX := s.pts[0], s.pts[0].X
		for _, pt := range s.pts {
			maxX = math.Max(maxX, pt.X)
		}
		if maxX > first.X {
			refs = append(refs, plotter.XYs{first, {X: maxX, Y: first.Y * maxX / first.X}})
		}
	}
	if len(lines) == 0 {
		fmt.Fprintf(stderr, "%s: no rows from bench/scale.sh\n", *in)
		return 1
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for i, r := range refs {
		l, err := plotter.NewLine(r)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		l.Color = color.Gray{Y: 128}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		if i == 0 {
			p.Legend.Add("linear (slope 1) from each first point", l)
		}
	}
	// Bottom right: the lines rise from the bottom left to the top right.
	p.Legend.Top, p.Legend.Left = false, false
	if err := p.Save(16*vg.Centimeter, 11*vg.Centimeter, *out); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stderr, "wrote %s\n", *out)
	return 0
}
