package serve

import (
	"sort"
	"strings"

	"github.com/threatcov/threatcov/analyzer"
)

// The policy view: every policy the analysis names, and per policy the steps it blocks, the
// steps where it is deployed and enforcing yet some probe gets through (bypassed, with the
// probes), the steps it only monitors, and the steps it should block but is not deployed for.
// It reads the result's step records only (Blocking, Monitoring, Missing, Verdicts).

// policyRow is one policy and the steps it plays a part in, by role.
type policyRow struct {
	ID                                  string
	Blocks, Bypassed, Monitors, Missing []policyStep
	Text                                string // the policy id and every step label, lower case, for the filter
}

// policyStep is one step of a policy's row; Probes are the admitted probes of a bypass.
type policyStep struct {
	stepLink
	TreeTitle string
	Probes    []string
}

type policiesData struct {
	layout
	Rows  []policyRow
	Total int // rows before the filter
}

// policyRows builds the rows, sorted by policy id; steps keep the result's order. O(steps x
// verdicts).
func (s *snapshot) policyRows() []policyRow {
	rows := map[string]*policyRow{}
	row := func(id string) *policyRow {
		if r, ok := rows[id]; ok {
			return r
		}
		r := &policyRow{ID: id}
		rows[id] = r
		return r
	}
	for i := range s.result.Steps {
		st := &s.result.Steps[i]
		entry := func() policyStep {
			ps := policyStep{stepLink: s.stepLink(st.Node)}
			if t, ok := s.catalog.Tree(ps.Tree); ok {
				ps.TreeTitle = t.Title
			}
			return ps
		}
		// A bypassed step is not blocked, whichever policies denied some of its probes: it is
		// listed under the policies that admitted a probe.
		if st.Status == analyzer.StatusBlocked {
			for _, p := range st.Blocking {
				r := row(p)
				r.Blocks = append(r.Blocks, entry())
			}
		}
		for _, p := range st.Monitoring {
			r := row(p)
			r.Monitors = append(r.Monitors, entry())
		}
		for _, p := range st.Missing {
			r := row(p)
			r.Missing = append(r.Missing, entry())
		}
		if st.Status == analyzer.StatusBypassed {
			admitted := map[string][]string{}
			var order []string
			for _, v := range st.Verdicts {
				if v.Mode != "enforce" || v.Verdict != "admitted" {
					continue
				}
				if _, ok := admitted[v.Policy]; !ok {
					order = append(order, v.Policy)
				}
				probe := v.Probe
				if v.Namespace != "" {
					probe += "@" + v.Namespace
				}
				admitted[v.Policy] = append(admitted[v.Policy], probe)
			}
			for _, p := range order {
				e := entry()
				e.Probes = admitted[p]
				r := row(p)
				r.Bypassed = append(r.Bypassed, e)
			}
		}
	}
	out := make([]policyRow, 0, len(rows))
	for _, r := range rows {
		var text strings.Builder
		text.WriteString(strings.ToLower(r.ID))
		for _, list := range [][]policyStep{r.Blocks, r.Bypassed, r.Monitors, r.Missing} {
			for _, e := range list {
				text.WriteString(" " + strings.ToLower(e.Label))
			}
		}
		r.Text = text.String()
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// policies renders the policy view, keeping the rows whose policy id or step labels contain q.
func (p *pages) policies(snap *snapshot, q string) ([]byte, error) {
	d := policiesData{layout: newLayout(snap, "Policies", "policies")}
	d.Query = q
	rows := snap.policyRows()
	d.Total = len(rows)
	q = strings.ToLower(strings.TrimSpace(q))
	for _, r := range rows {
		if q == "" || strings.Contains(r.Text, q) {
			d.Rows = append(d.Rows, r)
		}
	}
	return execute(p.policies_, d)
}
