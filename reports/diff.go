package reports

import (
	"fmt"
	"io"
	"strings"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/analyzer/baseline"
)

// DiffFormats are the formats of WriteDiff and WriteCheck.
var DiffFormats = []string{"table", "json", "markdown"}

// WriteDiff writes the comparison of two results (`threatcov diff`): figures before and after,
// paths and goals opened and closed with why, and the steps whose status changed. Markdown is
// meant for a pull-request comment.
func WriteDiff(w io.Writer, format string, d *baseline.Diff) error {
	switch format {
	case "json":
		return WriteJSON(w, d)
	case "markdown":
		ew := &errWriter{w: w}
		ew.printf("## threatcov: attack-path coverage changes\n\n")
		mdDiff(ew, d)
		return ew.err
	case "table":
		ew := &errWriter{w: w}
		textDiff(ew, d)
		return ew.err
	}
	return fmt.Errorf("%w %q: use one of %s", ErrUnknownFormat, format, strings.Join(DiffFormats, ", "))
}

// WriteCheck writes the gate's outcome (`threatcov check`): passed or failed, each failure
// with why, the notes, and the comparison with the baseline when there is one.
func WriteCheck(w io.Writer, format string, o *baseline.Outcome) error {
	ew := &errWriter{w: w}
	verdict := "PASSED"
	if !o.Passed {
		verdict = fmt.Sprintf("FAILED (%d)", len(o.Failures))
	}
	switch format {
	case "json":
		return WriteJSON(w, o)
	case "markdown":
		icon := "✅"
		if !o.Passed {
			icon = "❌"
		}
		ew.printf("## %s threatcov gate %s\n\n", icon, verdict)
		ew.printf("Path coverage %s, %s open; goal coverage %s.\n", mdCell(o.Figures.Paths.Coverage.Text("paths")), analyzer.CountText(o.Figures.Paths.Open), mdCell(o.Figures.Goals.Text("goals")))
		if len(o.Failures) > 0 {
			ew.printf("\n### Failures\n\n")
			for _, f := range o.Failures {
				ew.printf("- `%s` %s\n", mdCode(f.Rule), mdCell(f.Message))
			}
		}
		if len(o.Notes) > 0 {
			ew.printf("\n### Notes\n\n")
			for _, n := range o.Notes {
				ew.printf("- %s\n", mdCell(n))
			}
		}
		if o.Diff != nil {
			ew.printf("\n")
			mdDiff(ew, o.Diff)
		}
		return ew.err
	case "table":
		ew.printf("threatcov check: %s\n", verdict)
		ew.printf("  path coverage %s, %s open; goal coverage %s\n", o.Figures.Paths.Coverage.Text("paths"), analyzer.CountText(o.Figures.Paths.Open), o.Figures.Goals.Text("goals"))
		if len(o.Failures) > 0 {
			ew.printf("\nFAILURES\n")
			for _, f := range o.Failures {
				ew.printf("  [%s] %s\n", f.Rule, oneLine(f.Message))
			}
		}
		if len(o.Notes) > 0 {
			ew.printf("\nNOTES\n")
			for _, n := range o.Notes {
				ew.printf("  %s\n", oneLine(n))
			}
		}
		if o.Diff != nil {
			ew.printf("\n")
			textDiff(ew, o.Diff)
		}
		return ew.err
	}
	return fmt.Errorf("%w %q: use one of %s", ErrUnknownFormat, format, strings.Join(DiffFormats, ", "))
}

type figureRow struct {
	name          string
	before, after string
}

func figureRows(before, after analyzer.Figures) []figureRow {
	return []figureRow{
		{"path coverage", before.Paths.Coverage.Text("paths"), after.Paths.Coverage.Text("paths")},
		{"open paths", analyzer.CountText(before.Paths.Open), analyzer.CountText(after.Paths.Open)},
		{"goal coverage", before.Goals.Text("goals"), after.Goals.Text("goals")},
		{"step coverage", before.Steps.Text("addressable steps"), after.Steps.Text("addressable steps")},
	}
}

func whyText(cs []baseline.Cause) string {
	var parts []string
	for _, c := range cs {
		if c.Kind == baseline.CauseStatusChanged && len(cs) > 1 {
			continue // the policy causes already say it
		}
		parts = append(parts, c.Text)
	}
	return strings.Join(parts, "; ")
}

func textDiff(ew *errWriter, d *baseline.Diff) {
	ew.printf("FIGURES (before -> after)\n")
	for _, row := range figureRows(d.Before, d.After) {
		ew.printf("  %-14s %s -> %s\n", row.name, row.before, row.after)
	}
	paths := func(title string, ps []baseline.PathChange) {
		ew.printf("\n%s (%d)\n", title, len(ps))
		for _, p := range ps {
			ew.printf("  %s: %s\n", oneLine(p.GoalLabel), oneLine(strings.Join(p.Labels, " + ")))
			ew.printf("      because %s\n", oneLine(whyText(p.Why)))
		}
	}
	goals := func(title string, gs []baseline.GoalChange) {
		if len(gs) == 0 {
			return
		}
		ew.printf("\n%s (%d)\n", title, len(gs))
		for _, g := range gs {
			ew.printf("  %s (%s): %s -> %s\n", oneLine(g.Label), oneLine(g.ID), orDash(string(g.Before)), orDash(string(g.After)))
		}
	}
	paths("OPENED PATHS", d.OpenedPaths)
	paths("CLOSED PATHS", d.ClosedPaths)
	goals("OPENED GOALS", d.OpenedGoals)
	goals("CLOSED GOALS", d.ClosedGoals)
	goals("REMOVED GOALS", d.RemovedGoals)
	if len(d.Grown) > 0 {
		ew.printf("\nOPEN PATH COUNTS THAT GREW (%d)\n", len(d.Grown))
		for _, g := range d.Grown {
			ew.printf("  %s: %s -> %s\n", oneLine(g.Label), analyzer.CountText(g.Before), analyzer.CountText(g.After))
		}
	}
	if len(d.Steps) > 0 {
		ew.printf("\nSTEPS CHANGED (%d)\n", len(d.Steps))
		for _, s := range d.Steps {
			ew.printf("  %s (%s): %s -> %s\n", oneLine(s.Label), oneLine(s.Node), orDash(statusText(s.Before, s.BeforeEvidence)), orDash(statusText(s.After, s.AfterEvidence)))
			for _, c := range s.Causes {
				if c.Kind != baseline.CauseStatusChanged {
					ew.printf("      %s\n", oneLine(c.Text))
				}
			}
		}
	}
	if len(d.Partial) > 0 {
		ew.printf("\nCompared in part (more open paths than listed; raise --max-paths): %s\n", oneLine(strings.Join(d.Partial, ", ")))
	}
}

func mdDiff(ew *errWriter, d *baseline.Diff) {
	ew.printf("| Figure | Before | After |\n|---|---|---|\n")
	for _, row := range figureRows(d.Before, d.After) {
		ew.printf("| %s | %s | %s |\n", row.name, mdCell(row.before), mdCell(row.after))
	}
	paths := func(title string, ps []baseline.PathChange) {
		ew.printf("\n### %s (%d)\n\n", title, len(ps))
		if len(ps) == 0 {
			ew.printf("None.\n")
			return
		}
		ew.printf("| Goal | Path | Why |\n|---|---|---|\n")
		for _, p := range ps {
			ew.printf("| %s | %s | %s |\n", mdCell(p.GoalLabel), mdCell(strings.Join(p.Labels, " + ")), mdCell(whyText(p.Why)))
		}
	}
	paths("Opened paths", d.OpenedPaths)
	paths("Closed paths", d.ClosedPaths)
	goals := func(title string, gs []baseline.GoalChange) {
		if len(gs) == 0 {
			return
		}
		ew.printf("\n### %s (%d)\n\n", title, len(gs))
		for _, g := range gs {
			ew.printf("- %s (`%s`): %s → %s\n", mdCell(g.Label), mdCode(g.ID), orDash(string(g.Before)), orDash(string(g.After)))
		}
	}
	goals("Opened goals", d.OpenedGoals)
	goals("Closed goals", d.ClosedGoals)
	goals("Removed goals", d.RemovedGoals)
	if len(d.Grown) > 0 {
		ew.printf("\n### Open path counts that grew\n\n")
		for _, g := range d.Grown {
			ew.printf("- %s: %s → %s\n", mdCell(g.Label), analyzer.CountText(g.Before), analyzer.CountText(g.After))
		}
	}
	if len(d.Steps) > 0 {
		ew.printf("\n### Steps whose status changed (%d)\n\n| Step | Before | After | Why |\n|---|---|---|---|\n", len(d.Steps))
		for _, s := range d.Steps {
			ew.printf("| %s (`%s`) | %s | %s | %s |\n", mdCell(s.Label), mdCode(s.Node), orDash(statusText(s.Before, s.BeforeEvidence)), orDash(statusText(s.After, s.AfterEvidence)), mdCell(whyText(s.Causes)))
		}
	}
	if len(d.Partial) > 0 {
		ew.printf("\nCompared in part (more open paths than listed; raise `--max-paths`): %s\n", mdCell(strings.Join(d.Partial, ", ")))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
