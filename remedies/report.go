package remedies

import (
	"fmt"
	"io"
	"math/big"
	"strings"
	"text/tabwriter"

	"github.com/threatcov/threatcov/analyzer"
)

// Closed is the number of open paths the re-analysis found closed.
func (r *Report) Closed() *big.Int {
	return new(big.Int).Sub(r.Before.Open, r.After.Open)
}

// Kept reports whether the re-analysis closed what the plan promised: the same paths and
// the same steps. Only a deny-mode plan promises anything.
func (r *Report) Kept() bool {
	if r.Options.mode() != ModeDeny {
		return true
	}
	return r.Closed().Cmp(big.NewInt(int64(r.Plan.Paths))) == 0 && strings.Join(r.ClosedSteps, ",") == strings.Join(r.Plan.Steps, ",")
}

// Write prints the report: what was written and why, the figures before and after, and the
// existing objects each written policy would deny.
func (r *Report) Write(w io.Writer, dir string) error {
	o := r.Options
	p := r.Plan
	var b strings.Builder
	how := fmt.Sprintf("greedy over %d candidates (not proven smallest; docs/fix.md)", p.candidates)
	if p.Exact {
		how = fmt.Sprintf("the smallest set, by exhaustive search over %d candidates", p.candidates)
	}
	switch {
	case len(p.Choices) == 0:
		fmt.Fprintf(&b, "threatcov fix: no reference policy closes an open path of this policy set (%s open paths); nothing written to %s\n", r.Before.Open, dir)
	default:
		fmt.Fprintf(&b, "threatcov fix: %d reference policies (%s, mode %s) written to %s\n", len(p.Choices), o.engine(), o.mode(), dir)
		fmt.Fprintf(&b, "  they close %d of %d open paths and %d steps: %s\n", p.Paths, p.OpenPaths, len(p.Steps), how)
	}
	if p.Partial {
		fmt.Fprintf(&b, "  the plan counted the first %d open paths of each goal only; the figures below count all\n", planMaxPaths)
	}
	if len(r.Removed) > 0 {
		fmt.Fprintf(&b, "  replaced %d files an earlier run wrote to %s\n", len(r.Removed), dir)
	}
	if len(p.Choices) > 0 {
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  RANK\tPOLICY\tFILE\tCLOSES\tSTEPS")
		for i, c := range p.Choices {
			closes, steps := fmt.Sprintf("%d paths", c.Paths), strings.Join(c.Steps, ", ")
			switch {
			case c.Included:
				closes = "--include"
			case c.With != "" && c.Paths == 0:
				closes, steps = "with "+c.With, "(a step needs both)"
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", i+1, c.Remedy.Name, c.Remedy.FileName(o), closes, steps)
		}
		tw.Flush()
	}
	for _, f := range p.Further {
		fmt.Fprintf(&b, "  not written: %s denies what still gets through at %s, whose paths are closed already (defence in depth: --include %s)\n", f.Remedy.Name, strings.Join(f.Steps, ", "), f.Remedy.Name)
	}
	for _, u := range r.Unwritable {
		fmt.Fprintf(&b, "  not considered: %s (%s): %s\n", u.Remedy.Name, strings.Join(u.Remedy.Families, ", "), u.Why)
	}

	fmt.Fprintf(&b, "\nBEFORE AND AFTER (the policy set analysed again with %s added)\n", dir)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  \tbefore\tafter")
	fmt.Fprintf(tw, "  path coverage\t%s\t%s\n", r.Before.Paths.Text("paths"), r.After.Paths.Text("paths"))
	fmt.Fprintf(tw, "  open paths\t%s\t%s\n", r.Before.Open, r.After.Open)
	fmt.Fprintf(tw, "  step coverage\t%s\t%s\n", r.Before.Steps, r.After.Steps)
	for _, s := range []analyzer.Status{analyzer.StatusBlocked, analyzer.StatusMonitored, analyzer.StatusBypassed, analyzer.StatusOpen} {
		fmt.Fprintf(tw, "  %s steps\t%d\t%d\n", s, r.Before.Counts[s], r.After.Counts[s])
	}
	tw.Flush()
	switch {
	case o.mode() != ModeDeny && len(p.Choices) > 0:
		fmt.Fprintf(&b, "  mode %s: the written policies only flag what they would deny, so the re-analysis counts none of their steps as blocked (monitored where no enforcing policy addresses the step, else still bypassed); in deny mode they close %d paths. Deploy, read the %s, then run fix again with --mode deny.\n",
			o.mode(), p.Paths, map[Mode]string{ModeWarn: "warnings the clients get", ModeDryRun: "audit results (Gatekeeper audit, VAP audit annotations)"}[o.mode()])
	case r.Kept():
		fmt.Fprintf(&b, "  the re-analysis closed the %s paths and %d steps the plan promised\n", r.Closed(), len(r.ClosedSteps))
	default:
		fmt.Fprintf(&b, "  warning: the plan promised %d paths and %d steps; the re-analysis closed %s paths and %d steps (%s): the figures above are the re-analysis'\n",
			p.Paths, len(p.Steps), r.Closed(), len(r.ClosedSteps), strings.Join(r.ClosedSteps, ", "))
	}

	if r.ExistingObjects+r.ClusterObjects > 0 {
		var from []string
		if r.ExistingObjects > 0 {
			from = append(from, fmt.Sprintf("%d read from --existing", r.ExistingObjects))
		}
		if r.ClusterObjects > 0 {
			from = append(from, fmt.Sprintf("%d the cluster runs", r.ClusterObjects))
		}
		fmt.Fprintf(&b, "\nEXISTING OBJECTS (%s): what the written policies would deny once enforcing\n", strings.Join(from, ", "))
		if len(r.Hits) == 0 {
			b.WriteString("  none\n")
		} else {
			tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  POLICY\tOBJECT\tSOURCE\tWHY")
			for _, h := range r.Hits {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", h.Remedy, h.Object, h.Source, h.Message)
			}
			tw.Flush()
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
