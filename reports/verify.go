package reports

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/policies"
)

// Verification writes every step's status and the verdicts behind it (`threatcov verify`):
// table or json. Steps are in node-id order, verdicts in probe, namespace, policy order.
func Verification(w io.Writer, format string, r *analyzer.Result) error {
	if format == "json" {
		return WriteJSON(w, struct {
			SchemaVersion string                `json:"schemaVersion"`
			Inputs        analyzer.Inputs       `json:"inputs"`
			Steps         []analyzer.StepResult `json:"steps"`
		}{r.SchemaVersion, r.Inputs, r.Steps})
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATUS\tPROBE\tNAMESPACE\tPOLICY\tMODE\tVERDICT")
	for _, s := range r.Steps {
		status := statusText(s.Status, s.Evidence)
		if len(s.Verdicts) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t%s\n", s.Node, status, clip(s.Explanation, 90))
			continue
		}
		for _, v := range s.Verdicts {
			verdict := v.Verdict
			if v.Via == "pod" {
				verdict += " (via pod)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Node, status, v.Probe, v.Namespace, v.Policy, v.Mode, verdict)
		}
	}
	return tw.Flush()
}

// clip is oneLine cut to at most max runes, for table cells.
func clip(s string, max int) string {
	r := []rune(strings.Join(strings.Fields(oneLine(s)), " "))
	if len(r) > max {
		return string(r[:max-3]) + "..."
	}
	return string(r)
}

// Explain writes why a node has its status (`threatcov explain NODE`): its step result when
// it is mapped or a leaf, its node status, and the listed open paths that use it.
func Explain(w io.Writer, format string, r *analyzer.Result, c *attacktrees.Catalog, id string) error {
	n, ok := c.Node(id)
	if !ok {
		return fmt.Errorf("no node %q: run 'threatcov trees show TREE' for node ids", id)
	}
	under := map[string]bool{}
	for _, m := range c.Reachable(n) {
		under[m.ID] = true
		under[analyzer.ActionElement(m.ID)] = true
	}
	type openPath struct {
		Goal string        `json:"goal"`
		Path analyzer.Path `json:"path"`
	}
	var e struct {
		Node      analyzer.NodeResult  `json:"node"`
		Label     string               `json:"label"`
		Step      *analyzer.StepResult `json:"step,omitempty"`
		OpenPaths []openPath           `json:"openPaths"`
	}
	e.Label = n.Label
	for i := range r.Nodes {
		if r.Nodes[i].ID == id {
			e.Node = r.Nodes[i]
		}
	}
	for i := range r.Steps {
		if r.Steps[i].Node == id {
			e.Step = &r.Steps[i]
		}
	}
	e.OpenPaths = []openPath{}
	for _, t := range r.Trees {
		for _, g := range t.Goals {
			// Only goals above the node: another goal may share a step with it (a subtree
			// box's target reaches far) without its paths going through the node.
			if gn, ok := c.Node(g.ID); !ok || !slices.Contains(c.Reachable(gn), n) {
				continue
			}
			for _, p := range g.OpenPaths {
				if slices.ContainsFunc(p.Steps, func(s string) bool { return under[s] }) {
					e.OpenPaths = append(e.OpenPaths, openPath{Goal: g.ID, Path: p})
				}
			}
		}
	}
	if format == "json" {
		return WriteJSON(w, e)
	}
	ew := &errWriter{w: w}
	ew.printf("%s: %s", n.ID, n.Label)
	if n.Ref != "" {
		ew.printf(" [%s]", n.Ref)
	}
	ew.printf("\ntree: %s\nstatus: %s\nopen paths through it (all goals): %s\n", n.Tree, statusText(e.Node.Status, e.Node.Evidence), e.Node.OpenPaths)
	if s := e.Step; s != nil {
		ew.printf("\n%s\n", s.Explanation)
		if t := techniquesLine(s); t != "" {
			ew.printf("techniques: %s\n", t)
		}
		if len(s.Mapped) > 0 {
			ew.printf("mapped policies: %s\n", strings.Join(s.Mapped, ", "))
		}
		if len(s.Missing) > 0 {
			ew.printf("not deployed: %s\n", strings.Join(s.Missing, ", "))
		}
		if len(s.Verdicts) > 0 {
			ew.printf("\nverdicts:\n")
			tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "  PROBE\tNAMESPACE\tPOLICY\tMODE\tVERDICT\tMESSAGE")
			for _, v := range s.Verdicts {
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", v.Probe, v.Namespace, v.Policy, v.Mode, v.Verdict, clip(v.Message, 70))
			}
			tw.Flush()
		}
	} else if !c.IsLeaf(n) {
		ew.printf("\nan inner node: its status follows from its children (%s)\n", gateText(n))
	}
	ew.printf("\nopen paths listed in the report that use it: %d\n", len(e.OpenPaths))
	for _, p := range e.OpenPaths {
		ew.printf("  %s: %s\n", p.Goal, strings.Join(p.Path.Steps, " + "))
	}
	return ew.err
}

func gateText(n *attacktrees.Node) string {
	if n.Kind == attacktrees.KindSubtree {
		if len(n.Children) > 0 {
			return "its target " + n.Target + ", and one of its children" // docs/semantics.md, "Subtree boxes"
		}
		return "its target " + n.Target
	}
	g, k := n.Combine()
	if g == attacktrees.GateAtLeast {
		return fmt.Sprintf("%d of %d children", k, len(n.Children))
	}
	return string(g)
}

// Inventory writes the deployed policy set (`threatcov policies list`): table or json.
func Inventory(w io.Writer, format string, inv *policies.Inventory) error {
	if format == "json" {
		return WriteJSON(w, inv)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tENGINE\tPOINT\tENFORCEMENT\tEXECUTED\tSCOPE\tSOURCE")
	for _, p := range inv.Policies {
		executed := "declared"
		if p.Verifiable {
			executed = "verified"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s (%s)\t%s\t%s\t%s\n", p.ID, p.Engine, p.Point, p.Mode, p.Action, executed, clip(p.Scope, 50), p.Source)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// Why a policy acts on nothing or less than it seems: what reviewers most need to see.
	for _, p := range inv.Policies {
		for _, n := range p.Notes {
			if _, err := fmt.Fprintf(w, "note %s: %s\n", p.ID, n); err != nil {
				return err
			}
		}
	}
	for _, e := range inv.Exemptions {
		if _, err := fmt.Fprintf(w, "exempt %s\n", e); err != nil {
			return err
		}
	}
	for _, sk := range inv.Skipped {
		if _, err := fmt.Fprintf(w, "skipped %s: %s\n", sk.File, sk.Reason); err != nil {
			return err
		}
	}
	return nil
}
