package remedies

import (
	"math/bits"
	"slices"
	"sort"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/internal/subsets"
	"github.com/threatcov/threatcov/policies"
)

// ExactLimit is the largest number of candidate remedies searched exhaustively for the
// smallest set (2^ExactLimit subsets at most, each judged in O(steps + paths)); above it the
// plan is greedy. There are fewer embedded remedies than this, so today every plan is exact.
const ExactLimit = 20

// Choice is one remedy of a plan, in the order the plan ranks them: each closes the most open
// paths given the ones ranked above it.
type Choice struct {
	Remedy *Remedy
	// Steps are the node ids that become blocked when it is added to the ones above it.
	Steps []string
	// Paths is the number of open paths it closes given the ones above it.
	Paths int
	// With names the remedy ranked next when this one closes nothing without it.
	With string
	// Included says the user asked for it (--include) and the smallest set does not need it.
	Included bool
}

// Plan is the smallest set of remedies that closes every open path the remedies can close.
type Plan struct {
	Choices []Choice
	// Steps are every step the plan closes, sorted; Paths the open paths it closes.
	Steps []string
	Paths int
	// OpenPaths is the number of open paths the plan was made over: all of them unless a
	// goal had more than the analysis listed (Partial).
	OpenPaths int
	Partial   bool
	// Exact says the set was found by exhaustive search; otherwise it is greedy.
	Exact bool

	// Further are the remedies left out that would help block more steps but close no more
	// paths (their every path is closed by the plan already): defence in depth, each with the
	// steps it denies requests of that the plan leaves admitted (a step may need several).
	Further []Choice

	candidates int // how many remedies could close something
}

// stepNeed is what one closable step needs: for each of its probe requests that no deployed
// policy already denies, the set of remedies (a bit mask over the candidates) that deny it.
// The step closes under a set S when S meets every mask.
type stepNeed struct {
	node  string
	masks []uint64
}

// planInput is the plan's problem: candidates, what each closable step needs, and which steps
// each open path goes through (indexes into needs).
type planInput struct {
	candidates []*Remedy
	needs      []stepNeed
	paths      [][]int
}

// newPlanInput reads the problem from two analyses of the same inputs: before, as deployed,
// and with, with every remedy added in deny mode. remedyOf names the remedy of each policy id
// of with that is a remedy. A request counts as denied by a policy as the analyzer counts it:
// an enforcing policy that denied it while not denying its benign twin (docs/semantics.md,
// "Statuses of a step").
func newPlanInput(before, with *analyzer.Result, remedyOf map[string]*Remedy) (planInput, bool) {
	var in planInput
	wasClosed := map[string]bool{}
	for _, s := range before.Steps {
		wasClosed[s.Node] = s.Status.Closes()
	}
	// A closable step's requests, and the remedies that deny each with proof (nil: a deployed
	// policy does already).
	type key struct{ probe, ns string }
	type closable struct {
		node   string
		denied map[key][]*Remedy
	}
	var steps []closable
	used := map[string]*Remedy{}
	for _, s := range with.Steps {
		if wasClosed[s.Node] || s.Status != analyzer.StatusBlocked || s.Evidence != analyzer.EvidenceVerified {
			continue
		}
		c := closable{node: s.Node, denied: map[key][]*Remedy{}}
		already := map[key]bool{}
		for _, v := range s.Verdicts {
			k := key{v.Probe, v.Namespace}
			if _, ok := c.denied[k]; !ok {
				c.denied[k] = []*Remedy{}
			}
			if v.Verdict != string(policies.VerdictDenied) || v.Twin == string(policies.VerdictDenied) || v.Mode != string(policies.ModeEnforce) {
				continue
			}
			if r, ok := remedyOf[v.Policy]; ok {
				c.denied[k] = append(c.denied[k], r)
			} else {
				already[k] = true
			}
		}
		for k := range already {
			delete(c.denied, k)
		}
		if len(c.denied) == 0 {
			continue // blocked without a remedy: not the plan's doing
		}
		for _, rs := range c.denied {
			for _, r := range rs {
				used[r.Name] = r
			}
		}
		steps = append(steps, c)
	}
	// Candidates are the remedies that deny something, numbered in name order, so a plan
	// does not depend on the order of steps.
	for _, r := range used {
		in.candidates = append(in.candidates, r)
	}
	sort.Slice(in.candidates, func(i, j int) bool { return in.candidates[i].Name < in.candidates[j].Name })
	index := map[string]int{}
	for i, r := range in.candidates {
		index[r.Name] = i
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].node < steps[j].node })
	stepIndex := map[string]int{}
	for _, c := range steps {
		need := stepNeed{node: c.node}
		distinct := map[uint64]bool{}
		for _, rs := range c.denied {
			var m uint64
			for _, r := range rs {
				m |= 1 << uint(index[r.Name])
			}
			if !distinct[m] {
				distinct[m] = true
				need.masks = append(need.masks, m)
			}
		}
		sort.Slice(need.masks, func(i, j int) bool { return need.masks[i] < need.masks[j] })
		stepIndex[c.node] = len(in.needs)
		in.needs = append(in.needs, need)
	}
	partial := false
	for _, t := range before.Trees {
		for _, g := range t.Goals {
			if g.NotShown != nil && g.NotShown.Sign() > 0 {
				partial = true
			}
			for _, p := range g.OpenPaths {
				var through []int
				for _, e := range p.Steps {
					node, _ := analyzer.ElementNode(e)
					if i, ok := stepIndex[node]; ok {
						through = append(through, i)
					}
				}
				in.paths = append(in.paths, through)
			}
		}
	}
	return in, partial
}

// closed returns the bit set of the steps that close under the remedy set.
func (in *planInput) closed(set uint64) []bool {
	out := make([]bool, len(in.needs))
	for i, n := range in.needs {
		ok := true
		for _, m := range n.masks {
			if m&set == 0 {
				ok = false
				break
			}
		}
		out[i] = ok
	}
	return out
}

// pathsClosed counts the open paths that go through a step that closes under set.
func (in *planInput) pathsClosed(set uint64) int {
	closed := in.closed(set)
	n := 0
	for _, p := range in.paths {
		for _, s := range p {
			if closed[s] {
				n++
				break
			}
		}
	}
	return n
}

// plan chooses the smallest set of candidates that closes as many paths as all of them:
// exhaustively by increasing size when there are at most limit candidates, else greedily by
// step (each round completes the step whose missing remedies close the most paths per remedy
// added; within a factor H(n) of the smallest set when every step needs one remedy, n the
// closable paths, and without a bound when steps need several). The chosen set is then ranked
// greedily by paths closed.
func (in *planInput) plan(limit int) (set uint64, exact bool) {
	n := len(in.candidates)
	full := uint64(1)<<uint(n) - 1
	floor := in.pathsClosed(full)
	if floor == 0 {
		return 0, true
	}
	if n <= limit {
		for size := 1; size <= n; size++ {
			for s := range combinations(n, size) {
				if in.pathsClosed(s) == floor {
					return s, true
				}
			}
		}
		return full, true
	}
	for in.pathsClosed(set) < floor {
		closed := in.closed(set)
		base := in.pathsClosed(set)
		best, bestGain, bestCost := uint64(0), 0, 0
		for i, need := range in.needs {
			if closed[i] {
				continue
			}
			add := uint64(0)
			for _, m := range need.masks {
				if m&(set|add) == 0 {
					add |= m & -m // the lowest-numbered remedy of the request
				}
			}
			gain, cost := in.pathsClosed(set|add)-base, bits.OnesCount64(add)
			if gain*bestCost > bestGain*cost || best == 0 && gain > 0 {
				best, bestGain, bestCost = add, gain, cost
			}
		}
		if best == 0 {
			break
		}
		set |= best
	}
	return set, false
}

// combinations yields every n-bit set with size bits, in increasing numeric order of their
// reversed bits (so lower-numbered candidates come first).
func combinations(n, size int) func(func(uint64) bool) {
	return func(yield func(uint64) bool) {
		for idx := range subsets.OfSize(n, size) {
			var s uint64
			for _, j := range idx {
				s |= 1 << uint(j)
			}
			if !yield(s) {
				return
			}
		}
	}
}

// rank orders the chosen set greedily: each next remedy closes the most remaining paths. When
// no remedy closes anything alone (a step that needs two), the pair that closes the most comes
// next, the first of it marked as closing with the second.
func (in *planInput) rank(set uint64) Plan {
	var p Plan
	var taken uint64
	current := 0
	closedBefore := in.closed(0)
	add := func(i int, with string) {
		bit := uint64(1) << uint(i)
		taken |= bit
		now := in.pathsClosed(taken)
		after := in.closed(taken)
		ch := Choice{Remedy: in.candidates[i], Paths: now - current, With: with}
		for j, c := range after {
			if c && !closedBefore[j] {
				ch.Steps = append(ch.Steps, in.needs[j].node)
			}
		}
		p.Choices = append(p.Choices, ch)
		current, closedBefore = now, after
	}
	remaining := func() []int {
		var out []int
		for i := range in.candidates {
			if bit := uint64(1) << uint(i); set&bit != 0 && taken&bit == 0 {
				out = append(out, i)
			}
		}
		return out
	}
	for taken != set {
		rest := remaining()
		best, bestPaths := rest[0], -1
		for _, i := range rest {
			if c := in.pathsClosed(taken | 1<<uint(i)); c > bestPaths {
				best, bestPaths = i, c
			}
		}
		if bestPaths == current && len(rest) > 1 {
			a, b, pairPaths := -1, -1, current
			for x, i := range rest {
				for _, j := range rest[x+1:] {
					if c := in.pathsClosed(taken | 1<<uint(i) | 1<<uint(j)); c > pairPaths {
						a, b, pairPaths = i, j, c
					}
				}
			}
			if a >= 0 {
				add(a, in.candidates[b].Name)
				add(b, "")
				continue
			}
		}
		add(best, "")
	}
	for i, c := range in.closed(set) {
		if c {
			p.Steps = append(p.Steps, in.needs[i].node)
		}
	}
	sort.Strings(p.Steps)
	p.Paths = current
	p.OpenPaths = len(in.paths)
	return p
}

// makePlan plans from the two analyses (newPlanInput); the remedies named in include are
// added to the plan's set whether it needs them or not, last those that close nothing here.
func makePlan(before, with *analyzer.Result, remedyOf map[string]*Remedy, limit int, include []string) Plan {
	in, partial := newPlanInput(before, with, remedyOf)
	set, exact := in.plan(limit)
	optimal := set
	for i, r := range in.candidates {
		if slices.Contains(include, r.Name) {
			set |= 1 << uint(i)
		}
	}
	p := in.rank(set)
	for i := range p.Choices {
		c := &p.Choices[i]
		c.Included = slices.Contains(include, c.Remedy.Name) && optimal&(1<<uint(slices.Index(in.candidates, c.Remedy))) == 0
	}
	var idle []*Remedy
	for _, r := range remedyOf {
		if slices.Contains(include, r.Name) && !slices.Contains(in.candidates, r) && !slices.Contains(idle, r) {
			idle = append(idle, r)
		}
	}
	sort.Slice(idle, func(i, j int) bool { return idle[i].Name < idle[j].Name })
	for _, r := range idle {
		p.Choices = append(p.Choices, Choice{Remedy: r, Included: true})
	}
	p.Exact, p.Partial, p.candidates = exact, partial, len(in.candidates)
	closed := in.closed(set)
	for i, r := range in.candidates {
		bit := uint64(1) << uint(i)
		if set&bit != 0 {
			continue
		}
		ch := Choice{Remedy: r}
		for j, n := range in.needs {
			if closed[j] {
				continue
			}
			for _, m := range n.masks {
				if m&bit != 0 && m&set == 0 {
					ch.Steps = append(ch.Steps, n.node)
					break
				}
			}
		}
		if len(ch.Steps) > 0 {
			p.Further = append(p.Further, ch)
		}
	}
	return p
}
