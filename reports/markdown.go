package reports

import (
	"io"
	"strings"
	"time"

	"github.com/threatcov/threatcov/analyzer"
)

// writeMarkdown writes a review-ready document: summary, per-tree coverage, open paths,
// recommendations, then the steps the mapping does not cover and those out of scope.
// Every text from the input is escaped, so a label cannot inject markup into a PR comment.
func writeMarkdown(w io.Writer, v *view) error {
	ew := &errWriter{w: w}
	r := v.r
	ew.printf("# Attack-path coverage report\n\n")
	if !r.GeneratedAt.IsZero() {
		ew.printf("Generated %s by threatcov (report schema `%s`).\n\n", r.GeneratedAt.UTC().Format(time.RFC3339), mdCode(r.SchemaVersion))
	}
	ew.printf("## Summary\n\n")
	ew.printf("| Figure | Value |\n|---|---|\n")
	ew.printf("| Path coverage (blocked / all paths) | %s |\n", mdCell(r.Summary.Paths.Coverage.Text("paths")))
	ew.printf("| Open paths | %s |\n", analyzer.CountText(r.Summary.Paths.Open))
	if c := CeilingText(r.Summary.Paths); c != "" {
		ew.printf("| Path ceiling (paths policies can close) | %s |\n", mdCell(c))
	}
	ew.printf("| Goal coverage (blocked / goals) | %s |\n", mdCell(r.Summary.Goals.Text("goals")))
	ew.printf("| Step coverage (blocked / addressable steps) | %s |\n", mdCell(r.Summary.Steps.Text("addressable steps")))
	if c := StepCounts(r.Summary); c != "" {
		ew.printf("| Steps by status | %s |\n", mdCell(c))
	}
	ew.printf("\nInputs: trees %s; policies %s; mapping %s.\n", mdCell(joinOr(r.Inputs.Trees, "-")), mdCell(joinOr(r.Inputs.Policies, "none")), mdCell(joinOr(r.Inputs.Mapping, "-")))

	ew.printf("\n## Coverage per tree\n\n")
	ew.printf("| Tree | Goal | Status | Path coverage | Open paths |\n|---|---|---|---|---|\n")
	for _, t := range r.Trees {
		ew.printf("| **%s** | | | %s | %s |\n", mdCell(t.Title), mdCell(t.Figures.Paths.Coverage.Text("paths")), analyzer.CountText(t.Figures.Paths.Open))
		for _, g := range t.Goals {
			ew.printf("| | %s (`%s`) | %s | %s | %s |\n", mdCell(g.Label), mdCode(g.ID), statusBadge(g.Status), mdCell(g.Figures.Paths.Coverage.Text("paths")), analyzer.CountText(g.Figures.Paths.Open))
		}
	}

	ew.printf("\n## Open attack paths policies can close\n\n")
	writeMDPaths(ew, v, v.openPaths(false), "Shortest first: each is a set of attack steps that together reach the goal with no enforcing policy in the way, and at least one step a policy addresses.")
	ew.printf("\n## Residual risk: open paths beyond admission policies\n\n")
	writeMDPaths(ew, v, v.openPaths(true), "No step of these paths is one a policy addresses: they need other controls (network, supply chain, node hardening) or written attestations.")
	if n := v.notShown(); n.Sign() > 0 {
		ew.printf("\n%s more open paths are not listed (raise `--max-paths` to list them).\n", n)
	}

	if len(r.BypassCauses) > 0 {
		ew.printf("\n## Why bypassed steps are bypassed\n\n")
		ew.printf("| Cause | Steps | Requests admitted | Policies | Fix |\n|---|---|---|---|---|\n")
		for _, c := range r.BypassCauses {
			ew.printf("| %s | %d | %d | %s | %s |\n", mdCell(c.Text), len(c.Steps), c.Requests, mdCell(joinOr(c.Policies, "-")), mdCell(c.Fix))
		}
	}

	ew.printf("\n## Recommendations\n\n")
	if len(r.Recommendations) == 0 {
		ew.printf("None.\n")
	} else {
		ew.printf("Each closes the open paths shown, given those ranked above it. *Simulated*: re-analysed with the change applied; *estimated*: assumed to close the steps it addresses.\n\n")
		ew.printf("| Rank | Change | Closes paths | How known | Or instead | Steps |\n|---|---|---|---|---|---|\n")
		for _, rec := range r.Recommendations {
			steps := make([]string, len(rec.Steps))
			for i, s := range rec.Steps {
				steps[i] = mdCell(v.label(s))
			}
			change := mdCell(rec.Change)
			for _, why := range rec.Why {
				change += "<br>for: " + mdCell(why)
			}
			alts := make([]string, len(rec.Alternatives))
			for i, a := range rec.Alternatives {
				alts[i] = mdCell(a)
			}
			ew.printf("| %d | %s | %s | %s | %s | %s |\n", rec.Rank, change, recCloses(rec), rec.Established, strings.Join(alts, "<br>"), strings.Join(steps, "; "))
		}
	}

	ew.printf("\n## Steps without a mapped policy\n\n")
	writeMDSteps(ew, v.unmapped(), "Every addressable step has a mapped policy.")
	ew.printf("\n## Out-of-scope steps\n\n")
	writeMDSteps(ew, v.withStatus(analyzer.StatusOutOfScope), "None.")

	if len(r.Warnings) > 0 {
		ew.printf("\n## Warnings\n\n")
		for _, warn := range r.Warnings {
			ew.printf("- %s\n", mdCell(warn))
		}
	}
	return ew.err
}

func writeMDPaths(ew *errWriter, v *view, paths []openPath, intro string) {
	if len(paths) == 0 {
		ew.printf("None.\n")
		return
	}
	ew.printf("%s\n\n| Steps | Goal | Path |\n|---|---|---|\n", intro)
	for _, p := range paths {
		ew.printf("| %d | %s | %s |\n", len(p.Path.Steps), mdCell(p.Goal.Label), mdCell(v.pathLabels(p.Path)))
	}
}

func writeMDSteps(ew *errWriter, steps []*analyzer.StepResult, none string) {
	if len(steps) == 0 {
		ew.printf("%s\n", none)
		return
	}
	ew.printf("| Step | Tree | Status | Open paths through it | Why |\n|---|---|---|---|---|\n")
	for _, s := range steps {
		why := s.Reason
		if why == "" {
			why = s.Explanation
		}
		if why == "" {
			why = "-"
		}
		ew.printf("| %s (`%s`) | %s | %s | %s | %s |\n", mdCell(s.Label), mdCode(s.Node), mdCell(s.Tree), statusText(s.Status, s.Evidence), analyzer.CountText(s.OpenPaths), mdCell(why))
	}
}

func statusBadge(s analyzer.Status) string {
	if s.Closes() {
		return "✅ " + string(s)
	}
	return "❌ " + mdCell(string(s))
}

// mdCell escapes text for a Markdown table cell (and running text): the characters Markdown or
// the HTML it allows would interpret, and line breaks, which would end the row.
func mdCell(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '|', '#', '!', '~':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode makes text safe inside a `code span`: a backtick would end it and a pipe would end the
// table cell, so both are replaced.
func mdCode(s string) string {
	s = oneLine(s)
	s = strings.ReplaceAll(s, "`", "'")
	return strings.ReplaceAll(s, "|", "¦")
}
