package serve

import (
	"fmt"
	"sync"
	"time"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
)

// snapshot is one analysis as served: the result, the catalog it was computed on, and every
// page, drawing and report rendered from it, each rendered on first request and then kept.
// A snapshot never changes after publication; a re-analysis publishes a new one.
type snapshot struct {
	etag       string
	result     *analyzer.Result
	catalog    *attacktrees.Catalog
	analyzedAt time.Time
	// failed is the error of the latest re-analysis when it failed (the result is older).
	failed error

	steps map[string]*analyzer.StepResult
	nodes map[string]*analyzer.NodeResult
	// pathsByStep indexes every listed open path by the node ids it contains.
	pathsByStep map[string][]pathRef
	// goalReach is, per goal id, every node reachable from the goal.
	goalReach map[string]map[string]bool

	index lazy
	trees map[string]*lazy // tree page HTML by tree id
	svgs  map[string]*lazy // drawing by tree id
	// focus holds the pages and drawings of one goal's sub-tree, by "tree goal" (valid goals
	// only, so at most one entry per goal and kind).
	focus   sync.Map         // string -> *lazy
	reports map[string]*lazy // report bytes by format
}

// pathRef is one open path of one goal: Result.Trees[tree].Goals[goal].OpenPaths[path].
type pathRef struct{ tree, goal, path int }

func (a pathRef) less(b pathRef) bool {
	if a.tree != b.tree {
		return a.tree < b.tree
	}
	if a.goal != b.goal {
		return a.goal < b.goal
	}
	return a.path < b.path
}

// focused is the lazy value for key (see snapshot.focus).
func (s *snapshot) focused(key string) *lazy {
	l, _ := s.focus.LoadOrStore(key, &lazy{})
	return l.(*lazy)
}

// lazy is a value rendered once, by whichever request asks first, and gzipped once, when a
// client first accepts gzip.
type lazy struct {
	once sync.Once
	body []byte
	err  error

	gzOnce sync.Once
	gz     []byte
}

func (l *lazy) get(render func() ([]byte, error)) ([]byte, error) {
	l.once.Do(func() {
		// A panicking render must not leave an empty page cached as a success.
		defer func() {
			if p := recover(); p != nil {
				l.body, l.err = nil, fmt.Errorf("render panicked: %v", p)
			}
		}()
		l.body, l.err = render()
	})
	return l.body, l.err
}

// gzipped is the rendered body compressed; call it only after get succeeded.
func (l *lazy) gzipped() []byte {
	l.gzOnce.Do(func() { l.gz = gzipBytes(l.body) })
	return l.gz
}

func newSnapshot(etag string, r *analyzer.Result, c *attacktrees.Catalog, at time.Time, failed error) *snapshot {
	s := &snapshot{
		etag: etag, result: r, catalog: c, analyzedAt: at, failed: failed,
		steps:       map[string]*analyzer.StepResult{},
		nodes:       map[string]*analyzer.NodeResult{},
		pathsByStep: map[string][]pathRef{},
		goalReach:   map[string]map[string]bool{},
		trees:       map[string]*lazy{},
		svgs:        map[string]*lazy{},
		reports:     map[string]*lazy{},
	}
	for i := range r.Steps {
		s.steps[r.Steps[i].Node] = &r.Steps[i]
	}
	for i := range r.Nodes {
		s.nodes[r.Nodes[i].ID] = &r.Nodes[i]
	}
	for ti, t := range r.Trees {
		for gi, g := range t.Goals {
			s.goalReach[g.ID] = reachSet(c, g.ID)
			for pi, p := range g.OpenPaths {
				ref := pathRef{ti, gi, pi}
				for _, step := range p.Steps {
					s.pathsByStep[step] = append(s.pathsByStep[step], ref)
				}
			}
		}
	}
	for _, t := range c.Trees() {
		s.trees[t.ID] = &lazy{}
		s.svgs[t.ID] = &lazy{}
	}
	for _, f := range reportFiles {
		s.reports[f.format] = &lazy{}
	}
	return s
}

// label is what a node is called: the catalog's label, else the result's, else its id.
func (s *snapshot) label(id string) string {
	if n, ok := s.catalog.Node(id); ok && n.Label != "" {
		return n.Label
	}
	if st, ok := s.steps[id]; ok && st.Label != "" {
		return st.Label
	}
	return id
}

// status is a node's status in the result ("" for nodes the result does not cover, e.g. notes).
func (s *snapshot) status(id string) analyzer.Status {
	if n, ok := s.nodes[id]; ok {
		return n.Status
	}
	if st, ok := s.steps[id]; ok {
		return st.Status
	}
	return ""
}

// treeOf is the tree a node is drawn in.
func (s *snapshot) treeOf(id string) string {
	if n, ok := s.catalog.Node(id); ok {
		return n.Tree
	}
	if st, ok := s.steps[id]; ok {
		return st.Tree
	}
	return ""
}
