package reports

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/analyzer/baseline"
)

// DiffMarker starts every Markdown diff: an HTML comment, hidden when rendered, by which a
// workflow finds the pull-request comment it wrote before and updates it in place.
const DiffMarker = "<!-- threatcov:diff -->"

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
		ew.printf("%s\n## threatcov: %s\n\n", DiffMarker, diffHeadline(d))
		mdDiff(ew, d, true)
		return ew.err
	case "table":
		ew := &errWriter{w: w}
		ew.printf("threatcov diff: %s\n\n", diffHeadline(d))
		textDiff(ew, d, true)
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
		ew.printf("%s; %s open paths; %s.\n", capitalize(ofText(&o.Figures.Paths.Coverage, "paths", "blocked")), analyzer.CountText(o.Figures.Paths.Open), ofText(o.Figures.Goals, "goals", "blocked"))
		if len(o.Failures) > 0 {
			ew.printf("\n### Failures\n\n")
			for _, f := range failureLines(o, func(rule, msg string) string { return "`" + mdCode(rule) + "` " + mdCell(msg) }) {
				ew.printf("- %s\n", f)
			}
		}
		if len(o.Notes) > 0 {
			ew.printf("\n### Notes\n\n")
			for _, n := range o.Notes {
				ew.printf("- %s\n", mdCell(n))
			}
		}
		if o.Diff != nil {
			ew.printf("\n### Compared with the baseline: %s\n\n", diffHeadline(o.Diff))
			mdDiff(ew, o.Diff, false)
		}
		return ew.err
	case "table":
		ew.printf("threatcov check: %s\n", verdict)
		ew.printf("  %s; %s open paths; %s\n", ofText(&o.Figures.Paths.Coverage, "paths", "blocked"), analyzer.CountText(o.Figures.Paths.Open), ofText(o.Figures.Goals, "goals", "blocked"))
		if len(o.Failures) > 0 {
			ew.printf("\nFAILURES\n")
			for _, f := range failureLines(o, func(rule, msg string) string { return "[" + rule + "] " + oneLine(msg) }) {
				ew.printf("  %s\n", f)
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
			textDiff(ew, o.Diff, false)
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
		{"blocked paths", ofText(&before.Paths.Coverage, "paths", ""), ofText(&after.Paths.Coverage, "paths", "")},
		{"open paths", analyzer.CountText(before.Paths.Open), analyzer.CountText(after.Paths.Open)},
		{"blocked goals", ofText(before.Goals, "goals", ""), ofText(after.Goals, "goals", "")},
		{"blocked addressable steps", ofText(before.Steps, "addressable steps", ""), ofText(after.Steps, "addressable steps", "")},
	}
}

// ofText says what a ratio counts: "22 of 164 paths blocked (13.41%)", or without a verb
// "22 of 164 (13.41%)".
func ofText(r *analyzer.Ratio, what, verb string) string {
	if !r.Defined() {
		return "n/a (no " + what + ")"
	}
	if verb == "" {
		return fmt.Sprintf("%s of %s (%s)", analyzer.CountText(r.Num), r.Den, r.PercentText())
	}
	return fmt.Sprintf("%s of %s %s %s (%s)", analyzer.CountText(r.Num), r.Den, what, verb, r.PercentText())
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// diffHeadline says in a few words what changed: the paths that opened and closed, or that
// nothing did.
func diffHeadline(d *baseline.Diff) string {
	if d.Unchanged() {
		return "no change in attack-path coverage"
	}
	return fmt.Sprintf("%s opened, %d closed", plural(len(d.OpenedPaths), "path", "paths"), len(d.ClosedPaths))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// failureLines are the gate's failures, each written by line(rule, message). With a comparison,
// the failures of the rules that the comparison lists (paths and goals opened) are counted, not
// repeated: the comparison below names each one with its causes.
func failureLines(o *baseline.Outcome, line func(rule, message string) string) []string {
	var out []string
	counted := map[string]int{}
	for _, f := range o.Failures {
		if o.Diff != nil && (f.Rule == string(baseline.FailNewOpenPaths) || f.Rule == string(baseline.FailNewOpenGoals)) {
			counted[f.Rule]++
			continue
		}
		out = append(out, line(f.Rule, f.Message))
	}
	for _, rule := range []baseline.Rule{baseline.FailNewOpenPaths, baseline.FailNewOpenGoals} {
		if n := counted[string(rule)]; n > 0 {
			what := "the paths opened and the open-path counts grown, listed below with their causes"
			if rule == baseline.FailNewOpenGoals {
				what = "the goals opened, listed below"
			}
			out = append(out, line(string(rule), plural(n, "failure", "failures")+": "+what))
		}
	}
	return out
}

func textDiff(ew *errWriter, d *baseline.Diff, partial bool) {
	ew.printf("FIGURES (before -> after)\n")
	for _, row := range figureRows(d.Before, d.After) {
		ew.printf("  %-26s %s -> %s\n", row.name, row.before, row.after)
	}
	causes := indexCauses(d)
	if len(causes.list) > 0 {
		ew.printf("\nCAUSES (%d)\n", len(causes.list))
		for i, c := range causes.list {
			ew.printf("  %d. %s\n", i+1, oneLine(c.text()))
		}
	}
	ew.printf("\nPATHS OPENED (%d)\n", len(d.OpenedPaths))
	for _, p := range d.OpenedPaths {
		ew.printf("  %s › %s: %s  [causes %s]\n", oneLine(treeTitle(d, p.Tree)), oneLine(p.GoalLabel), oneLine(strings.Join(p.Labels, " + ")), causes.refs(p.Why))
	}
	ew.printf("\nPATHS CLOSED (%d)\n", len(d.ClosedPaths))
	for _, p := range d.ClosedPaths {
		ew.printf("  %s › %s: %s  [%s]\n", oneLine(treeTitle(d, p.Tree)), oneLine(p.GoalLabel), oneLine(strings.Join(p.Labels, " + ")), oneLine(closedBy(p)))
	}
	goals := func(title string, gs []baseline.GoalChange) {
		if len(gs) == 0 {
			return
		}
		ew.printf("\n%s (%d)\n", title, len(gs))
		for _, g := range gs {
			ew.printf("  %s › %s (%s): %s -> %s\n", oneLine(treeTitle(d, g.Tree)), oneLine(g.Label), oneLine(g.ID), orDash(string(g.Before)), orDash(string(g.After)))
		}
	}
	goals("GOALS OPENED", d.OpenedGoals)
	goals("GOALS CLOSED", d.ClosedGoals)
	goals("GOALS NO LONGER ANALYSED", d.RemovedGoals)
	if len(d.Grown) > 0 {
		ew.printf("\nGOALS WHOSE OPEN-PATH COUNT GREW (%d)\n", len(d.Grown))
		for _, g := range d.Grown {
			ew.printf("  %s (%s): %s -> %s open paths\n", oneLine(g.Label), oneLine(g.Goal), analyzer.CountText(g.Before), analyzer.CountText(g.After))
		}
	}
	if len(d.Steps) > 0 {
		ew.printf("\nSTEPS WHOSE STATUS CHANGED (%d)\n", len(d.Steps))
		for _, s := range d.Steps {
			ew.printf("  %s › %s (%s): %s -> %s  [causes %s]\n", oneLine(treeTitle(d, s.Tree)), oneLine(s.Label), oneLine(s.Node), orDash(statusText(s.Before, s.BeforeEvidence)), orDash(statusText(s.After, s.AfterEvidence)), causes.refs(s.Causes))
		}
	}
	if partial && len(d.Partial) > 0 {
		ew.printf("\nCompared in part (more open paths than listed; raise --max-paths): %s\n", oneLine(strings.Join(d.Partial, ", ")))
	}
}

// mdDiff writes a comparison as Markdown for a pull-request comment: the figures, then each
// cause once, numbered, and the goals, paths and steps that changed, each with its tree and
// the numbers of its causes. partial: also say which goals were compared in part (check says
// it in its notes instead).
func mdDiff(ew *errWriter, d *baseline.Diff, partial bool) {
	ew.printf("| Figure | Before | After |\n|---|---|---|\n")
	for _, row := range figureRows(d.Before, d.After) {
		ew.printf("| %s | %s | %s |\n", row.name, mdCell(row.before), mdCell(row.after))
	}
	tree := func(id string) string { return mdCell(treeTitle(d, id)) }
	causes := indexCauses(d)
	if len(causes.list) > 0 {
		ew.printf("\n### Causes\n\n")
		for i, c := range causes.list {
			ew.printf("%d. %s\n", i+1, mdCell(c.text()))
		}
	}
	goals := func(title string, gs []baseline.GoalChange) {
		if len(gs) == 0 {
			return
		}
		ew.printf("\n### %s (%d)\n\n| Tree | Goal | Before | After |\n|---|---|---|---|\n", title, len(gs))
		for _, g := range gs {
			ew.printf("| %s | %s (`%s`) | %s | %s |\n", tree(g.Tree), mdCell(g.Label), mdCode(g.ID), orDash(string(g.Before)), orDash(string(g.After)))
		}
	}
	goals("Goals opened", d.OpenedGoals)
	if len(d.OpenedPaths) > 0 {
		ew.printf("\n### Paths opened (%d)\n\n| Tree | Goal | Steps of the path | Causes |\n|---|---|---|---|\n", len(d.OpenedPaths))
		for _, p := range d.OpenedPaths {
			ew.printf("| %s | %s | %s | %s |\n", tree(p.Tree), mdCell(p.GoalLabel), mdCell(strings.Join(p.Labels, " + ")), causes.refs(p.Why))
		}
	}
	if len(d.Grown) > 0 {
		ew.printf("\n### Goals whose open-path count grew (%d)\n\n| Goal | Open paths before | Open paths after |\n|---|---|---|\n", len(d.Grown))
		for _, g := range d.Grown {
			ew.printf("| %s (`%s`) | %s | %s |\n", mdCell(g.Label), mdCode(g.Goal), analyzer.CountText(g.Before), analyzer.CountText(g.After))
		}
	}
	goals("Goals closed", d.ClosedGoals)
	if len(d.ClosedPaths) > 0 {
		ew.printf("\n### Paths closed (%d)\n\n| Tree | Goal | Steps of the path | Closed by |\n|---|---|---|---|\n", len(d.ClosedPaths))
		for _, p := range d.ClosedPaths {
			ew.printf("| %s | %s | %s | %s |\n", tree(p.Tree), mdCell(p.GoalLabel), mdCell(strings.Join(p.Labels, " + ")), mdCell(closedBy(p)))
		}
	}
	goals("Goals no longer analysed", d.RemovedGoals)
	if len(d.Steps) > 0 {
		ew.printf("\n### Steps whose status changed (%d)\n\n| Tree | Step | Before | After | Causes |\n|---|---|---|---|---|\n", len(d.Steps))
		for _, s := range d.Steps {
			ew.printf("| %s | %s (`%s`) | %s | %s | %s |\n", tree(s.Tree), mdCell(s.Label), mdCode(s.Node), orDash(statusText(s.Before, s.BeforeEvidence)), orDash(statusText(s.After, s.AfterEvidence)), causes.refs(s.Causes))
		}
	}
	if partial && len(d.Partial) > 0 {
		ew.printf("\nCompared in part (more open paths than listed; raise `--max-paths`): %s\n", mdCell(strings.Join(d.Partial, ", ")))
	}
}

// treeTitle is a tree's title, or its id when the reports compared do not give one.
func treeTitle(d *baseline.Diff, id string) string {
	if t := d.TreeTitles[id]; t != "" {
		return t
	}
	return id
}

// closedBy names the steps of a closed path that are closed now.
func closedBy(p baseline.PathChange) string {
	var out []string
	for _, c := range p.Why {
		if c.Kind == baseline.CauseStepClosed {
			out = append(out, c.Text)
		} else if c.Kind == baseline.CausePathNew {
			out = append(out, c.Text)
		}
	}
	return strings.Join(out, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// causeEntry is one cause of a comparison, said once however many steps and paths it explains.
type causeEntry struct {
	base   string
	steps  map[string]bool
	paths  int
	probes []string
}

func (c *causeEntry) text() string {
	var parts []string
	if n := len(c.steps); n > 0 {
		parts = append(parts, plural(n, "step", "steps"))
	}
	if c.paths > 0 {
		parts = append(parts, plural(c.paths, "path", "paths")+" opened")
	}
	if n := len(c.probes); n > 0 {
		eg := c.probes
		if len(eg) > 3 {
			eg = eg[:3]
		}
		more := ""
		if n > len(eg) {
			more = ", …"
		}
		parts = append(parts, fmt.Sprintf("%s admitted: %s%s", plural(n, "probe", "probes"), strings.Join(eg, ", "), more))
	}
	if len(parts) == 0 {
		return c.base
	}
	return c.base + " (" + strings.Join(parts, "; ") + ")"
}

// causeIndex numbers the causes of a comparison in the order they first appear.
type causeIndex struct {
	list  []*causeEntry
	byKey map[string]int
}

// causeKey is what makes two causes the same cause, and how it is said once for all the
// steps it explains. Causes the comparison attaches to every step (the status change) or
// that only detail another (the probes a policy admits) have shown false.
func causeKey(c baseline.Cause) (key, base string) {
	switch c.Kind {
	case baseline.CausePolicyToMonitor:
		return c.Kind + "|" + c.Policy, fmt.Sprintf("policy %s switched from enforce to monitor (dryrun/warn/audit): it flags these steps but no longer blocks them", c.Policy)
	case baseline.CausePolicyRemoved:
		return c.Kind + "|" + c.Policy, fmt.Sprintf("policy %s disappeared: it is no longer deployed", c.Policy)
	case baseline.CausePolicyNoLonger:
		return c.Kind + "|" + c.Policy, fmt.Sprintf("policy %s no longer blocks these steps", c.Policy)
	case baseline.CauseMappingChanged:
		return c.Kind + "|" + c.Policy, fmt.Sprintf("the mapping no longer names %s for these steps", c.Policy)
	case baseline.CausePolicyAdmits:
		if c.Policy != "" {
			return c.Kind + "|" + c.Policy, fmt.Sprintf("policy %s no longer denies some probes of these steps", c.Policy)
		}
		return c.Kind, "probes of these steps are admitted that were denied before"
	case baseline.CauseStatusChanged:
		// "step "label" is new ...", ""label" went from a to b": said without the label.
		rest := c.Text
		if i := strings.LastIndex(rest, `" `); i >= 0 {
			rest = rest[i+2:]
		}
		return c.Kind + "|" + rest, "steps that " + rest
	}
	return c.Kind + "|" + c.Text, c.Text
}

// shown are the causes of one step or path that the Markdown names: the status change only
// when nothing else explains it, the probes admitted apart only when no policy cause takes them.
func shown(cs []baseline.Cause) []baseline.Cause {
	policy := slices.ContainsFunc(cs, func(c baseline.Cause) bool { return c.Policy != "" })
	other := slices.ContainsFunc(cs, func(c baseline.Cause) bool { return c.Kind != baseline.CauseStatusChanged })
	var out []baseline.Cause
	for _, c := range cs {
		switch {
		case c.Kind == baseline.CauseStatusChanged && other:
		case c.Kind == baseline.CausePolicyAdmits && c.Policy == "" && policy:
		default:
			out = append(out, c)
		}
	}
	return out
}

func indexCauses(d *baseline.Diff) *causeIndex {
	ix := &causeIndex{byKey: map[string]int{}}
	entry := func(c baseline.Cause) *causeEntry {
		key, base := causeKey(c)
		i, ok := ix.byKey[key]
		if !ok {
			i = len(ix.list)
			ix.byKey[key] = i
			ix.list = append(ix.list, &causeEntry{base: base, steps: map[string]bool{}})
		}
		return ix.list[i]
	}
	addProbes := func(e *causeEntry, probes []string) {
		for _, p := range probes {
			if !slices.Contains(e.probes, p) {
				e.probes = append(e.probes, p)
			}
		}
	}
	for _, s := range d.Steps {
		var probes []string
		for _, c := range s.Causes {
			probes = append(probes, c.Probes...)
		}
		for _, c := range shown(s.Causes) {
			e := entry(c)
			e.steps[s.Node] = true
			addProbes(e, probes)
		}
	}
	for _, p := range d.OpenedPaths {
		seen := map[*causeEntry]bool{}
		for _, c := range shown(p.Why) {
			if e := entry(c); !seen[e] {
				seen[e] = true
				e.paths++
			}
		}
	}
	return ix
}

// refs are the numbers of the causes, "1, 3", in the order of the list.
func (ix *causeIndex) refs(cs []baseline.Cause) string {
	var nums []int
	for _, c := range shown(cs) {
		key, _ := causeKey(c)
		if i, ok := ix.byKey[key]; ok && !slices.Contains(nums, i+1) {
			nums = append(nums, i+1)
		}
	}
	slices.Sort(nums)
	out := make([]string, len(nums))
	for i, n := range nums {
		out[i] = fmt.Sprint(n)
	}
	return orDash(strings.Join(out, ", "))
}
