package reports

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/threatcov/threatcov/analyzer"
)

// writeTable writes the terminal report: the summary first (what a reader wants in the first
// lines), then each tree's goals, the open paths shortest first and the recommendations.
func writeTable(w io.Writer, v *view) error {
	ew := &errWriter{w: w}
	r := v.r
	ew.printf("threatcov report (%s)\n", r.SchemaVersion)
	if !r.GeneratedAt.IsZero() {
		ew.printf("generated %s\n", r.GeneratedAt.UTC().Format(time.RFC3339))
	}
	ew.printf("\nSUMMARY\n")
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  path coverage (blocked/all paths)\t%s, %s open\n", r.Summary.Paths.Coverage.Text("paths"), analyzer.CountText(r.Summary.Paths.Open))
	if c := CeilingText(r.Summary.Paths); c != "" {
		fmt.Fprintf(tw, "  path ceiling (policies can close)\t%s\n", c)
	}
	fmt.Fprintf(tw, "  goal coverage (blocked/goals)\t%s\n", r.Summary.Goals.Text("goals"))
	steps := r.Summary.Steps.Text("addressable steps")
	if c := StepCounts(r.Summary); c != "" {
		steps += "  [" + c + "]"
	}
	fmt.Fprintf(tw, "  step coverage (blocked/addressable)\t%s\n", steps)
	fmt.Fprintf(tw, "  trees\t%s\n", joinOr(r.Inputs.Trees, "-"))
	fmt.Fprintf(tw, "  policies\t%s\n", joinOr(r.Inputs.Policies, "none"))
	fmt.Fprintf(tw, "  mapping\t%s\n", joinOr(r.Inputs.Mapping, "-"))
	tw.Flush()

	ew.printf("\nGOALS\n")
	if len(r.Trees) == 0 {
		ew.printf("  none\n")
	}
	tw = tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	if len(r.Trees) > 0 {
		fmt.Fprintf(tw, "  TREE / GOAL\tSTATUS\tPATH COVERAGE\tOPEN PATHS\n")
	}
	for _, t := range r.Trees {
		fmt.Fprintf(tw, "  %s\t\t%s\t%s\n", oneLine(t.ID), t.Figures.Paths.Coverage.Text("paths"), analyzer.CountText(t.Figures.Paths.Open))
		for _, g := range t.Goals {
			fmt.Fprintf(tw, "    %s (%s)\t%s\t%s\t%s\n", oneLine(g.Label), oneLine(g.ID), g.Status, g.Figures.Paths.Coverage.Text("paths"), analyzer.CountText(g.Figures.Paths.Open))
		}
	}
	tw.Flush()

	writeTablePaths(ew, v, "OPEN PATHS policies can close (shortest first)", v.openPaths(false))
	writeTablePaths(ew, v, "RESIDUAL RISK: open paths with no step a policy addresses (shortest first; they need other controls or attestations)", v.openPaths(true))
	if n := v.notShown(); n.Sign() > 0 {
		ew.printf("  ... and %s more open paths not listed (raise --max-paths to list them)\n", n)
	}

	if len(r.BypassCauses) > 0 {
		ew.printf("\nBYPASS CAUSES (why probes of bypassed steps got through)\n")
		for _, c := range r.BypassCauses {
			ew.printf("  %s: %d steps, %d requests; policies: %s\n", oneLine(c.Text), len(c.Steps), c.Requests, joinOr(c.Policies, "-"))
			ew.printf("    fix: %s\n", oneLine(c.Fix))
		}
	}

	ew.printf("\nRECOMMENDATIONS (each closes the open paths shown, given those ranked above it)\n")
	if len(r.Recommendations) == 0 {
		ew.printf("  none\n")
	}
	for _, rec := range r.Recommendations {
		ew.printf("  %d. %s\n", rec.Rank, oneLine(rec.Change))
		ew.printf("     closes %s paths; %s: %s\n", recCloses(rec), rec.Established, establishedText[rec.Established])
		for _, why := range rec.Why {
			ew.printf("     for: %s\n", oneLine(why))
		}
		for _, alt := range rec.Alternatives {
			ew.printf("     or: %s\n", oneLine(alt))
		}
		ew.printf("     steps: %s\n", oneLine(strings.Join(rec.Steps, ", ")))
	}
	for i, warn := range r.Warnings {
		if i == 0 {
			ew.printf("\nWARNINGS\n")
		}
		ew.printf("  %s\n", oneLine(warn))
	}
	return ew.err
}

// writeTablePaths writes one list of open paths under its heading.
func writeTablePaths(ew *errWriter, v *view, heading string, paths []openPath) {
	ew.printf("\n%s\n", heading)
	if len(paths) == 0 {
		ew.printf("  none\n")
		return
	}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  STEPS\tGOAL\tPATH\n")
	for _, p := range paths {
		fmt.Fprintf(tw, "  %d\t%s\t%s\n", len(p.Path.Steps), oneLine(p.Goal.ID), oneLine(v.pathLabels(p.Path)))
	}
	tw.Flush()
}

// errWriter keeps the first write error so the renderers can write without checking each call.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}

// oneLine keeps a table row on one line and strips terminal control characters, so a label
// from a hostile tree file cannot redraw the terminal.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, s)
}

func joinOr(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	return oneLine(strings.Join(s, ", "))
}
