package analyzer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"sort"
	"time"

	"github.com/threatcov/threatcov/analyzer/paths"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// DefaultMaxPaths is how many open paths per goal a result lists unless told otherwise.
const DefaultMaxPaths = 20

// Input is everything one analysis reads.
type Input struct {
	Catalog   *attacktrees.Catalog
	Mapping   *mapping.Mapping
	Probes    []probes.Probe
	Inventory *policies.Inventory
	Evaluator *policies.Evaluator
	// Namespaces are where the attacker can create workloads; each probe is evaluated in each.
	Namespaces []string
	// Live, when set, sends every probe to a cluster as a server-side dry-run.
	Live LiveProber
	// MaxPaths caps the open paths listed per goal (<= 0: DefaultMaxPaths).
	MaxPaths int
	// Now decides attestation expiry; inject it for reproducible output.
	Now time.Time
	// Stamp, when set, is recorded as the result's GeneratedAt.
	Stamp   time.Time
	Sources Inputs

	// only, when set, restricts evaluation to these nodes (re-analysing a recommendation).
	only map[string]bool
	// results are the verdicts of the last evaluation; reuse, when set, supplies a
	// re-analysis with those of the original its change leaves as they were.
	results map[jobKey]policies.Evaluation
	reuse   *reuse
}

// reuse is what a re-analysis takes from the analysis it changes: every verdict but those
// stale says the change may alter.
type reuse struct {
	results map[jobKey]policies.Evaluation
	stale   func(policies.Job) bool
}

// model is the catalog as a path-engine model: one model node per catalog node (same index)
// plus, for each mapped inner node, a leaf standing for the node's own action.
type model struct {
	engine  *paths.Engine
	nodes   []paths.Node // the model the engine was built from
	action  map[int]int  // catalog index of a mapped inner node -> its action leaf
	element []string     // model index -> element id for paths ("node" or "node#action")
	nodeOf  []*attacktrees.Node
}

// Analyze evaluates the deployed policies on the probes, computes every node's status, counts
// and lists open attack paths per goal, and derives figures and recommendations.
//
// Cost: evaluation is O(policies x probes x namespaces) policy runs, spread over the cores;
// path counting is linear in the size of the path engine's decision diagram, which is small
// for real trees even when the number of paths is exponential.
func Analyze(ctx context.Context, in Input) (*Result, error) {
	evals, err := prepare(ctx, &in)
	if err != nil {
		return nil, err
	}
	byNode := map[string]*stepEval{}
	for _, se := range evals {
		byNode[se.node.ID] = se
	}
	m, err := buildModel(in.Catalog, byNode)
	if err != nil {
		return nil, err
	}
	closed := m.elements(evals, func(se *stepEval) bool { return se.closes })
	// Policy-addressable elements: steps some policy is mapped to. A path with none of them is
	// beyond what policies can close (docs/semantics.md, "Figures": the ceiling).
	addressable := m.elements(evals, func(se *stepEval) bool {
		return se.step != nil && se.step.OutOfScope == "" && len(se.step.Policies) > 0
	})
	res := header(&in)
	res.Inputs.MaxPaths = in.MaxPaths
	for _, t := range in.Catalog.Trees() {
		res.Inputs.Trees = append(res.Inputs.Trees, t.ID)
	}
	res.Warnings = append(res.Warnings, in.Mapping.Warnings...)
	goals := goalResults(&in, m, byNode, closed, addressable, res)
	res.Nodes, res.Steps = nodeResults(&in, m, byNode, evals, goals, closed)
	res.BypassCauses = bypassCauses(&in, evals)
	res.Recommendations = recommend(ctx, &in, m, evals, goals, closed, res.BypassCauses)
	return res, nil
}

// StepStatuses evaluates the deployed policies on the probes and returns every step's status
// (`threatcov verify`): no paths, figures or recommendations are computed, and the steps
// carry no open-path counts.
func StepStatuses(ctx context.Context, in Input) (*Result, error) {
	evals, err := prepare(ctx, &in)
	if err != nil {
		return nil, err
	}
	res := header(&in)
	for _, se := range evals {
		res.Steps = append(res.Steps, se.result)
	}
	sort.Slice(res.Steps, func(i, j int) bool { return res.Steps[i].Node < res.Steps[j].Node })
	res.BypassCauses = bypassCauses(&in, evals)
	return res, nil
}

// prepare checks and completes the input, then evaluates every step.
func prepare(ctx context.Context, in *Input) ([]*stepEval, error) {
	if in.Catalog == nil || in.Mapping == nil || in.Inventory == nil || in.Evaluator == nil {
		return nil, errors.New("analyze: catalog, mapping, inventory and evaluator are required")
	}
	if len(in.Namespaces) == 0 {
		in.Namespaces = in.Inventory.AttackerNamespaces()
	}
	if in.MaxPaths <= 0 {
		in.MaxPaths = DefaultMaxPaths
	}
	return evaluateSteps(ctx, in)
}

// header is what every result starts with: the schema, the stamp and the inputs.
func header(in *Input) *Result {
	res := &Result{SchemaVersion: SchemaVersion, GeneratedAt: in.Stamp, Inputs: in.Sources}
	res.Inputs.Date = in.Now.UTC().Format(time.DateOnly)
	res.Inputs.Namespaces = in.Namespaces
	return res
}

// goalResults counts all and open paths per goal, lists the open ones shortest first, and
// fills the tree and summary figures of res.
func goalResults(in *Input, m *model, byNode map[string]*stepEval, closed, addressable []bool, res *Result) []goalRoot {
	blocked := func(i int) bool { return closed[i] }
	beyond := func(i int) bool { return addressable[i] }                  // avoided: paths beyond policies
	beyondOpen := func(i int) bool { return addressable[i] || closed[i] } // and open
	var goals []goalRoot
	total := pathCounts{}
	var goalsBlocked, goalsAll int64
	for _, t := range in.Catalog.Trees() {
		tr := TreeResult{ID: t.ID, Title: t.Title}
		tt := pathCounts{}
		var tBlocked int64
		for _, g := range in.Catalog.Goals(t.ID) {
			i := int(g.GraphID())
			all := m.engine.Count(i)
			open := m.engine.CountAvoiding(i, blocked)
			gr := GoalResult{ID: g.ID, Tree: t.ID, Label: g.Label, Status: StatusOpen, OpenPaths: []Path{}}
			if open.Sign() == 0 {
				gr.Status = StatusBlocked
				tBlocked++
			}
			shown, _ := m.engine.Enumerate(i, blocked, in.MaxPaths, func(leaves []int) bool {
				p := m.path(leaves)
				p.Residual = !slices.ContainsFunc(leaves, func(l int) bool { return addressable[l] })
				gr.OpenPaths = append(gr.OpenPaths, p)
				return true
			})
			// Paths policies can close first: residual ones need other controls and would
			// otherwise lead the list (docs/semantics.md, "Figures").
			sort.SliceStable(gr.OpenPaths, func(a, b int) bool { return !gr.OpenPaths[a].Residual && gr.OpenPaths[b].Residual })
			gr.NotShown = new(big.Int).Sub(open, big.NewInt(int64(shown)))
			counts := pathCounts{all: all, open: open, residual: m.engine.CountAvoiding(i, beyond), residualOpen: m.engine.CountAvoiding(i, beyondOpen)}
			gr.Figures.Paths = counts.figures()
			tr.Goals = append(tr.Goals, gr)
			tt.add(counts)
			goals = append(goals, goalRoot{i, all, open})
		}
		nGoals := int64(len(tr.Goals))
		tr.Figures.Paths = tt.figures()
		tr.Figures.Goals = ratio(big.NewInt(tBlocked), big.NewInt(nGoals))
		tr.Figures.Steps, tr.Figures.StepCounts, tr.Figures.OpenCounts = stepFigures(in.Catalog, byNode, in.Catalog.Leaves(t.ID))
		total.add(tt)
		goalsBlocked += tBlocked
		goalsAll += nGoals
		res.Trees = append(res.Trees, tr)
	}
	var allGoals, allLeaves []*attacktrees.Node
	for _, t := range in.Catalog.Trees() {
		allGoals = append(allGoals, in.Catalog.Goals(t.ID)...)
	}
	for _, n := range in.Catalog.Reachable(allGoals...) {
		if in.Catalog.IsLeaf(n) {
			allLeaves = append(allLeaves, n)
		}
	}
	res.Summary.Paths = total.figures()
	res.Summary.Goals = ratio(big.NewInt(goalsBlocked), big.NewInt(goalsAll))
	res.Summary.Steps, res.Summary.StepCounts, res.Summary.OpenCounts = stepFigures(in.Catalog, byNode, allLeaves)
	return goals
}

// nodeResults gives every node its status and the open paths through it, and every step its
// open-path count.
//
// Open paths through a node are the open paths of the goals above it that use an element
// under it. Only goals that reach the node are counted, which keeps the cost linear in the
// catalog (a node lies under a bounded number of goals) rather than nodes x goals.
func nodeResults(in *Input, m *model, byNode map[string]*stepEval, evals []*stepEval, goals []goalRoot, closed []bool) ([]NodeResult, []StepResult) {
	above := make([][]int, len(in.Catalog.Nodes()))
	for gi, g := range goals {
		if g.open.Sign() == 0 {
			continue
		}
		for _, n := range in.Catalog.Reachable(in.Catalog.Nodes()[g.idx]) {
			above[n.GraphID()] = append(above[n.GraphID()], gi)
		}
	}
	closedMask := m.engine.NewMask(func(i int) bool { return closed[i] })
	through := func(n *attacktrees.Node, elements []int) *big.Int {
		sum := new(big.Int)
		gs := above[n.GraphID()]
		if len(gs) == 0 {
			return sum
		}
		roots := make([]int, len(gs))
		for i, gi := range gs {
			roots[i] = goals[gi].idx
		}
		for i, rest := range m.engine.CountEachMasked(roots, closedMask, elements) {
			sum.Add(sum, new(big.Int).Sub(goals[gs[i]].open, rest))
		}
		return sum
	}
	elementsUnder := m.elementsUnder(in.Catalog)
	isClosed := closedNodes(in.Catalog, m, closed)
	// A step's count is the one its node already got, unless the node is closed (its node
	// result is then 0 without counting); counting again doubled the cost for every step.
	counted := make([]*big.Int, len(in.Catalog.Nodes()))
	var nodes []NodeResult
	if len(in.Catalog.Nodes()) > 0 {
		nodes = make([]NodeResult, 0, len(in.Catalog.Nodes()))
	}
	for _, n := range in.Catalog.Nodes() {
		if n.Kind == attacktrees.KindNote {
			continue
		}
		nr := NodeResult{ID: n.ID, Tree: n.Tree, OpenPaths: new(big.Int)}
		// No open path goes through a closed node: achieving it needs a closed element.
		if !isClosed[n] {
			nr.OpenPaths = through(n, elementsUnder[n.GraphID()])
			counted[n.GraphID()] = nr.OpenPaths
		}
		se := byNode[n.ID]
		if se != nil {
			nr.Status, nr.Evidence, nr.Policies = se.result.Status, se.result.Evidence, se.result.Blocking
		}
		if !in.Catalog.IsLeaf(n) && !(se != nil && se.closes) {
			nr.Status, nr.Evidence, nr.Policies = StatusOpen, "", nil
			if isClosed[n] {
				nr.Status = StatusBlocked
			}
		}
		nodes = append(nodes, nr)
	}
	if len(nodes) == 0 {
		nodes = nil // as when nothing was appended: the JSON form keeps "null"
	}
	var steps []StepResult
	for _, se := range evals {
		if c := counted[se.node.GraphID()]; c != nil {
			se.result.OpenPaths = new(big.Int).Set(c)
		} else {
			se.result.OpenPaths = through(se.node, elementsUnder[se.node.GraphID()])
		}
		steps = append(steps, se.result)
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].Node < steps[j].Node })
	return nodes, steps
}

// goalRoot is a goal's model index and path counts.
type goalRoot struct {
	idx       int
	all, open *big.Int
}

// pathCounts are the path counts of a goal, or their sums over a tree or the catalog: all and
// open paths, and the residual ones beyond policies (no step a policy is mapped to), all and
// open.
type pathCounts struct{ all, open, residual, residualOpen *big.Int }

func (t *pathCounts) add(o pathCounts) {
	if t.all == nil {
		t.all, t.open, t.residual, t.residualOpen = new(big.Int), new(big.Int), new(big.Int), new(big.Int)
	}
	t.all.Add(t.all, o.all)
	t.open.Add(t.open, o.open)
	t.residual.Add(t.residual, o.residual)
	t.residualOpen.Add(t.residualOpen, o.residualOpen)
}

// figures: coverage = blocked / all; ceiling = paths policies can close (all but the
// residual) / all; coverage of the ceiling = blocked paths among those / the ceiling.
func (t pathCounts) figures() PathFigures {
	if t.all == nil {
		t.add(pathCounts{all: new(big.Int), open: new(big.Int), residual: new(big.Int), residualOpen: new(big.Int)})
	}
	f := pathFigures(t.all, t.open)
	closable := new(big.Int).Sub(t.all, t.residual)
	openClosable := new(big.Int).Sub(t.open, t.residualOpen)
	f.Ceiling = ratio(closable, t.all)
	f.OfCeiling = ratio(new(big.Int).Sub(closable, openClosable), closable)
	f.Residual = t.residualOpen
	return f
}

// elements marks the path elements of the steps pred selects: a mapped inner node's own
// action, else the node.
func (m *model) elements(evals []*stepEval, pred func(*stepEval) bool) []bool {
	out := make([]bool, len(m.element))
	for _, se := range evals {
		if !pred(se) {
			continue
		}
		i := int(se.node.GraphID())
		if a, ok := m.action[i]; ok {
			out[a] = true
		} else {
			out[i] = true
		}
	}
	return out
}

// buildModel turns the catalog's expansion (attacktrees.Catalog.Expansion: subtree boxes as
// AND(target, OR(children)), reference cycles unfolded per entry context, docs/semantics.md
// "Subtree boxes") into a path-engine model. Model node i is catalog node i for every catalog
// index, so goals, leaves and elements keep their graph ids; copies and helper gates follow.
func buildModel(c *attacktrees.Catalog, byNode map[string]*stepEval) (*model, error) {
	exp := c.Expansion()
	m := &model{action: map[int]int{}}
	mn := make([]paths.Node, len(exp), len(exp)+2*len(byNode))
	m.element = make([]string, len(exp), cap(mn))
	m.nodeOf = make([]*attacktrees.Node, len(exp), cap(mn))
	for i, e := range exp {
		m.element[i], m.nodeOf[i] = e.Node.ID, e.Node
		switch e.Gate {
		case "":
			mn[i] = paths.Node{Op: paths.Leaf}
		case attacktrees.GateAnd:
			mn[i] = paths.Node{Op: paths.And, Children: e.Children}
		case attacktrees.GateAtLeast:
			mn[i] = paths.Node{Op: paths.AtLeast, K: e.K, Children: e.Children}
		default:
			mn[i] = paths.Node{Op: paths.Or, Children: e.Children}
		}
	}
	// A mapped inner node is AND(its own action, its children's gate): blocking the action
	// blocks every path through the node, through each of its copies too.
	mapped := map[*attacktrees.Node]bool{}
	for _, se := range byNode {
		if se.step != nil && se.step.OutOfScope == "" && len(c.Children(se.node)) > 0 {
			mapped[se.node] = true
		}
	}
	for i := range exp {
		n := exp[i].Node
		if !mapped[n] || exp[i].Gate == "" {
			continue
		}
		ci := int(n.GraphID())
		act, ok := m.action[ci]
		if !ok {
			act = len(mn)
			mn = append(mn, paths.Node{Op: paths.Leaf})
			m.element = append(m.element, ActionElement(n.ID))
			m.nodeOf = append(m.nodeOf, n)
			m.action[ci] = act
		}
		gateIdx := len(mn)
		mn = append(mn, mn[i])
		m.element = append(m.element, n.ID+"#gate")
		m.nodeOf = append(m.nodeOf, n)
		mn[i] = paths.Node{Op: paths.And, Children: []int{act, gateIdx}}
	}
	e, err := paths.New(paths.Model{Nodes: mn})
	if err != nil {
		return nil, fmt.Errorf("build path model: %w", err)
	}
	m.engine = e
	m.nodes = mn
	return m, nil
}

// path turns a set of model leaves into a Path with a stable fingerprint.
func (m *model) path(leaves []int) Path {
	ids := make([]string, len(leaves))
	for i, l := range leaves {
		ids[i] = m.element[l]
	}
	return NewPath(ids)
}

// elementsUnder lists, per catalog node, the model leaves reachable from it (its action leaf
// included). O(nodes x leaves) in the worst case; the catalog has a few hundred of each.
func (m *model) elementsUnder(c *attacktrees.Catalog) [][]int {
	out := make([][]int, len(c.Nodes()))
	for _, n := range c.Nodes() {
		for _, r := range c.Reachable(n) {
			i := int(r.GraphID())
			if a, ok := m.action[i]; ok {
				out[n.GraphID()] = append(out[n.GraphID()], a)
			}
			if c.IsLeaf(r) {
				out[n.GraphID()] = append(out[n.GraphID()], i)
			}
		}
	}
	return out
}

// closedNodes applies docs/semantics.md's propagation to every node of the model: AND is
// closed when any child is, OR when all are, k-of-n when fewer than k children remain open; a
// mapped node is also closed by its own action (its model node is AND(action, gate)). Read on
// the model, so a subtree box is closed when its target or all its children are, and a
// reference cycle is closed as its least fixpoint says. closed marks the closed model leaves.
// O(model nodes + edges).
func closedNodes(c *attacktrees.Catalog, m *model, closed []bool) map[*attacktrees.Node]bool {
	memo := make([]int8, len(m.nodes)) // 0 unknown, 1 open, 2 closed
	var walk func(i int) bool
	walk = func(i int) bool {
		if memo[i] != 0 {
			return memo[i] == 2
		}
		n := m.nodes[i]
		var shut bool
		if n.Op == paths.Leaf {
			shut = closed[i]
		} else {
			openKids := 0
			for _, ch := range n.Children {
				if !walk(ch) {
					openKids++
				}
			}
			switch n.Op {
			case paths.And:
				shut = openKids < len(n.Children)
			case paths.AtLeast:
				shut = openKids < n.K
			default:
				shut = openKids == 0
			}
		}
		memo[i] = 1
		if shut {
			memo[i] = 2
		}
		return shut
	}
	out := make(map[*attacktrees.Node]bool, len(c.Nodes()))
	for _, n := range c.Nodes() {
		out[n] = walk(int(n.GraphID()))
	}
	return out
}

func pathFigures(all, open *big.Int) PathFigures {
	if all == nil {
		all, open = new(big.Int), new(big.Int)
	}
	return PathFigures{Coverage: *ratio(new(big.Int).Sub(all, open), all), Open: open}
}

func ratio(num, den *big.Int) *Ratio {
	r := &Ratio{Num: num, Den: den}
	if den.Sign() == 0 {
		return r
	}
	q := new(big.Rat).SetFrac(num, den)
	f, _ := q.Float64()
	p := math.Round(f*10000) / 100
	r.Percent = &p
	return r
}

func stepFigures(c *attacktrees.Catalog, byNode map[string]*stepEval, leaves []*attacktrees.Node) (*Ratio, map[Status]int, map[OpenKind]int) {
	counts := map[Status]int{}
	var open map[OpenKind]int
	var covered, addressable int64
	for _, l := range leaves {
		se := byNode[l.ID]
		st, kind := StatusOpen, OpenUncovered
		if se != nil {
			st, kind = se.result.Status, se.result.OpenKind
		}
		counts[st]++
		if st == StatusOpen {
			if open == nil {
				open = map[OpenKind]int{}
			}
			open[kind]++
		}
		if st == StatusOutOfScope {
			continue
		}
		addressable++
		if st.Closes() {
			covered++
		}
	}
	return ratio(big.NewInt(covered), big.NewInt(addressable)), counts, open
}
