package analyzer

import (
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/threatcov/threatcov/policies"
)

// exactLimit is the largest number of candidate groups searched exhaustively for the smallest
// set that closes every closable path (2^12 subsets, each a count per goal).
const exactLimit = 12

// candidate is one change a team can make and the path elements it would close.
type candidate struct {
	action, policy string
	alternatives   []string
	elements       []int
	steps          []string
}

// recommend finds the smallest set of policy changes (deploy a mapped policy, switch a
// monitoring policy to enforce, fix a bypassed policy) that closes every open path that
// policies can close: exactly when there are at most exactLimit distinct candidates, else
// greedily, which is within a factor H(n) = 1 + 1/2 + ... + 1/n (n: closable paths) of the
// smallest set (the set-cover bound). Candidates that close the same steps are one
// recommendation with alternatives. A candidate is assumed to close a step on its own; two
// policies that each deny only some of a step's probes are not combined.
func recommend(in *Input, m *model, evals []*stepEval, goals []goalRoot, closed []bool) []Recommendation {
	cands := candidates(in, m, evals)
	if len(cands) == 0 {
		return []Recommendation{}
	}
	var roots []int
	for _, g := range goals {
		if g.open.Sign() != 0 {
			roots = append(roots, g.idx)
		}
	}
	closedMask := m.engine.NewMask(func(i int) bool { return closed[i] })
	openWith := func(extra []int) *big.Int {
		sum := new(big.Int)
		for _, c := range m.engine.CountEachMasked(roots, closedMask, extra) {
			sum.Add(sum, c)
		}
		return sum
	}
	union := func(set []*candidate) []int {
		var u []int
		for _, c := range set {
			u = append(u, c.elements...)
		}
		return u
	}
	floor := openWith(union(cands))

	var chosen []*candidate
	exact := false
	if len(cands) <= exactLimit {
		chosen, exact = smallestCover(cands, func(set []*candidate) bool { return openWith(union(set)).Cmp(floor) == 0 }), true
	} else {
		chosen = cands
	}
	// Rank greedily within the chosen set: each next change closes the most remaining paths.
	var recs []Recommendation
	var taken []*candidate
	current := openWith(nil)
	remaining := append([]*candidate(nil), chosen...)
	for len(remaining) > 0 && current.Cmp(floor) > 0 {
		best, bestOpen := -1, (*big.Int)(nil)
		for i, c := range remaining {
			o := openWith(union(append(taken, c)))
			if best < 0 || o.Cmp(bestOpen) < 0 {
				best, bestOpen = i, o
			}
		}
		gain := new(big.Int).Sub(current, bestOpen)
		if gain.Sign() == 0 {
			break
		}
		c := remaining[best]
		recs = append(recs, Recommendation{Rank: len(recs) + 1, Action: c.action, Policy: c.policy, Alternatives: c.alternatives, Steps: c.steps, Closes: gain, Exact: exact})
		taken = append(taken, c)
		remaining = append(remaining[:best], remaining[best+1:]...)
		current = bestOpen
	}
	if recs == nil {
		recs = []Recommendation{}
	}
	return recs
}

// smallestCover returns the smallest subset of cands for which covers holds, trying subsets by
// increasing size in a fixed order.
func smallestCover(cands []*candidate, covers func([]*candidate) bool) []*candidate {
	n := len(cands)
	for size := 1; size <= n; size++ {
		idx := make([]int, size)
		for i := range idx {
			idx[i] = i
		}
		for {
			set := make([]*candidate, size)
			for i, j := range idx {
				set[i] = cands[j]
			}
			if covers(set) {
				return set
			}
			// next combination
			i := size - 1
			for i >= 0 && idx[i] == n-size+i {
				i--
			}
			if i < 0 {
				break
			}
			idx[i]++
			for j := i + 1; j < size; j++ {
				idx[j] = idx[j-1] + 1
			}
		}
	}
	return cands
}

// candidates lists the changes the mapping knows of for steps that do not close, merged when
// they close the same steps, sorted by action then policy.
func candidates(in *Input, m *model, evals []*stepEval) []*candidate {
	type key struct{ action, policy string }
	steps := map[key]map[string]bool{}
	add := func(action, policy, node string) {
		k := key{action, policy}
		if steps[k] == nil {
			steps[k] = map[string]bool{}
		}
		steps[k][node] = true
	}
	for _, se := range evals {
		if se.closes || se.step == nil || se.step.OutOfScope != "" {
			continue
		}
		r := se.result
		for _, ref := range r.Missing {
			add("deploy", ref, se.node.ID)
		}
		for i := range se.facts.policies {
			p := &se.facts.policies[i]
			flagsAll := !p.declared && p.provesAll(se.facts.keys)
			switch {
			case p.mode == policies.ModeMonitor && (flagsAll || (p.declared && p.mapped)):
				add("enforce", p.id, se.node.ID)
			case p.mode == policies.ModeEnforce && r.Status == StatusBypassed && (p.mapped || len(p.proof) > 0):
				add("fix", p.id, se.node.ID)
			}
		}
	}
	groups := map[string]*candidate{}
	var order []string
	keys := make([]key, 0, len(steps))
	for k := range steps {
		keys = append(keys, k)
	}
	actionRank := map[string]int{"fix": 0, "enforce": 1, "deploy": 2}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].action != keys[j].action {
			return actionRank[keys[i].action] < actionRank[keys[j].action]
		}
		return keys[i].policy < keys[j].policy
	})
	for _, k := range keys {
		var ids []string
		for id := range steps[k] {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		sig := strings.Join(ids, ",")
		if c, ok := groups[sig]; ok {
			c.alternatives = append(c.alternatives, fmt.Sprintf("%s %s", k.action, k.policy))
			continue
		}
		c := &candidate{action: k.action, policy: k.policy, steps: ids}
		for _, id := range ids {
			n, _ := in.Catalog.Node(id)
			i := int(n.GraphID())
			if a, ok := m.action[i]; ok {
				c.elements = append(c.elements, a)
			} else {
				c.elements = append(c.elements, i)
			}
		}
		groups[sig] = c
		order = append(order, sig)
	}
	out := make([]*candidate, len(order))
	for i, sig := range order {
		out[i] = groups[sig]
	}
	return out
}
