package mapping

import (
	"bytes"
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/frameworks"
	"github.com/threatcov/threatcov/internal/yamldoc"
	"github.com/threatcov/threatcov/probes"
)

//go:embed default.yaml
var defaultMapping []byte

// DefaultFile is the name errors use for the embedded default mapping.
const DefaultFile = "mapping/default.yaml"

// PolicyEngines are the prefixes a policy reference may carry: "engine:name".
var PolicyEngines = []string{"gatekeeper", "konstraint", "kyverno", "psa", "rego", "vap"}

var psaLevels = []string{"baseline", "restricted"}

// File is one mapping file as written (schema in docs/mapping.md).
type File struct {
	Version      int                `yaml:"version"`
	Steps        []*Entry           `yaml:"steps"`
	Attestations []*AttestationSpec `yaml:"attestations"`

	Name string `yaml:"-"`
}

// Entry maps catalog nodes, chosen by id, by exact label or by CNCF bracket ref, to what
// covers them.
type Entry struct {
	Nodes  []string `yaml:"nodes"`
	Labels []string `yaml:"labels"`
	Refs   []string `yaml:"refs"`
	// Points are the enforcement points the attacker crosses doing the step; default admission.
	Points   []probes.Point `yaml:"points"`
	Policies []string       `yaml:"policies"`
	Probes   []string       `yaml:"probes"`
	// OutOfScope says why no admission policy can address the step and it does not count in
	// step coverage (network floods, SDLC, hardware).
	OutOfScope string `yaml:"out-of-scope"`
	// Attestable says why the step is covered by a non-admission control that can be attested.
	Attestable string `yaml:"attestable"`
	Note       string `yaml:"note"`
	// Attack and ThreatMatrix are the framework techniques the step instantiates: MITRE ATT&CK
	// Enterprise ids (T1611, T1552.007) and Threat Matrix for Kubernetes ids (MS-TA9013),
	// checked against the versions package frameworks embeds (docs/frameworks.md). An entry
	// with only these annotates nodes mapped by an earlier entry or file.
	Attack       []string `yaml:"attack"`
	ThreatMatrix []string `yaml:"threat-matrix"`

	File string `yaml:"-"`
	Line int    `yaml:"-"`
}

// annotates reports whether the entry only names framework techniques: it changes the
// techniques of the steps it selects and nothing else.
func (e *Entry) annotates() bool {
	return len(e.Policies)+len(e.Probes)+len(e.Points) == 0 && e.OutOfScope == "" && e.Attestable == "" && e.Note == "" &&
		len(e.Attack)+len(e.ThreatMatrix) > 0
}

// AttestationSpec is someone's word that a non-admission control covers a node, or, with
// Namespace instead of Node, that the attacker cannot create workloads in that namespace
// (RBAC, say), so probes are not tried there.
type AttestationSpec struct {
	// Node, Nodes, Labels and Refs select the nodes it covers the way a step entry does, so
	// one attestation covers a step drawn in several trees.
	Node      string   `yaml:"node"`
	Nodes     []string `yaml:"nodes"`
	Labels    []string `yaml:"labels"`
	Refs      []string `yaml:"refs"`
	Namespace string   `yaml:"namespace"`
	Control   string   `yaml:"control"`
	Evidence  string   `yaml:"evidence"`
	Expires   string   `yaml:"expires"` // YYYY-MM-DD

	File string `yaml:"-"`
	Line int    `yaml:"-"`
}

// Step is the resolved mapping of one catalog node.
type Step struct {
	Node        *attacktrees.Node
	Points      []probes.Point
	Policies    []string
	Probes      []string
	OutOfScope  string
	Attestable  string
	Note        string
	Attestation *Attestation
	// Attack and ThreatMatrix are the framework techniques the step instantiates, sorted.
	Attack       []string
	ThreatMatrix []string
	File         string
	Line         int
}

// Addressable reports whether the step counts in step coverage.
func (s *Step) Addressable() bool { return s == nil || s.OutOfScope == "" }

// Crosses reports whether the step's attacker passes the enforcement point.
func (s *Step) Crosses(point probes.Point) bool { return slices.Contains(s.Points, point) }

// Attestation is a parsed attestation.
type Attestation struct {
	Control  string
	Evidence string
	Expires  time.Time
	File     string
	Line     int
}

// Mapping is the resolved mapping: what covers each mapped node of a catalog.
type Mapping struct {
	steps map[string]*Step
	// Warnings are problems that do not stop an analysis: selectors that match no node, and a
	// node selected twice in one file. With strict resolution they are errors. Unknown probe
	// families are always errors: a step without its probes cannot be verified.
	Warnings []string
	// namespaces are the namespace attestations: where the attacker cannot create workloads.
	namespaces map[string]*Attestation
}

// UnusableNamespaces are the namespaces attested, unexpired at now, as ones the attacker
// cannot create workloads in, sorted.
func (m *Mapping) UnusableNamespaces(now time.Time) []string {
	var out []string
	for ns, a := range m.namespaces {
		if !now.After(a.Expires) {
			out = append(out, ns)
		}
	}
	sort.Strings(out)
	return out
}

// Step returns the mapping of a node, or nil when the node is unmapped.
func (m *Mapping) Step(nodeID string) *Step { return m.steps[nodeID] }

// Steps returns every mapped node's step, sorted by node id.
func (m *Mapping) Steps() []*Step {
	out := make([]*Step, 0, len(m.steps))
	for _, s := range m.steps {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node.ID < out[j].Node.ID })
	return out
}

// Default returns the embedded default mapping file.
func Default() (*File, error) { return Parse(defaultMapping, DefaultFile) }

// ReadFile reads a mapping file.
func ReadFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read mapping: %v", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, attacktrees.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read mapping: %v", path, err)
	}
	if len(data) > attacktrees.MaxFileSize {
		return nil, fmt.Errorf("%s: mapping file is larger than %d bytes", path, attacktrees.MaxFileSize)
	}
	return Parse(data, path)
}

// Parse decodes a mapping file strictly (unknown fields are errors) and checks each entry on
// its own. Node ids, labels and probe families are checked against a catalog by Resolve.
func Parse(data []byte, name string) (*File, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlSyntaxError(name, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s:1: empty mapping: add `version: 1` and `steps:` (see docs/mapping.md)", name)
	}
	f := &File{Name: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var errs []string
	if err := dec.Decode(f); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, yamlSyntaxError(name, err)
		}
		for _, m := range te.Errors {
			errs = append(errs, fmt.Sprintf("%s:%s (see docs/mapping.md for the fields)", name, trimYAML(m)))
		}
	}
	// One file holds one mapping: a later document would otherwise be dropped without a word.
	// Empty documents (a trailing "---") are fine.
	line, err := yamldoc.Extra(dec)
	if err != nil {
		return nil, yamlSyntaxError(name, err)
	}
	if line > 0 {
		errs = append(errs, fmt.Sprintf("%s:%d: a second YAML document: one file holds one mapping; merge its steps into the first or give it its own --mapping file", name, line))
	}
	locateEntries(f, doc.Content[0])
	// Entries reached through a YAML merge key or alias have no item of their own under
	// steps/attestations; point their errors at the document so they still name the file.
	for _, e := range f.Steps {
		if e != nil && e.File == "" {
			e.File, e.Line = name, doc.Content[0].Line
		}
	}
	for _, a := range f.Attestations {
		if a != nil && a.File == "" {
			a.File, a.Line = name, doc.Content[0].Line
		}
	}
	if f.Version != 1 {
		errs = append(errs, fmt.Sprintf("%s:1: mapping version %d is not supported: set `version: 1`", name, f.Version))
	}
	for _, e := range f.Steps {
		if e == nil {
			errs = append(errs, fmt.Sprintf("%s: empty entry under steps", name))
			continue
		}
		errs = append(errs, checkEntry(e)...)
	}
	for _, a := range f.Attestations {
		if a == nil {
			errs = append(errs, fmt.Sprintf("%s: empty entry under attestations", name))
			continue
		}
		if _, err := a.parse(); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	return f, nil
}

// yamlSyntaxError puts yaml.v3's line where every other error has it, right after the file
// name ("m.yaml:7: invalid YAML: ..."), rather than after the words "invalid YAML".
func yamlSyntaxError(name string, err error) error {
	if line, rest, ok := yamldoc.Line(err.Error()); ok {
		return fmt.Errorf("%s:%d: invalid YAML: %s", name, line, rest)
	}
	return fmt.Errorf("%s: invalid YAML: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
}

func trimYAML(msg string) string {
	if line, rest, ok := yamldoc.Line(msg); ok {
		return strconv.Itoa(line) + ": " + rest
	}
	return " " + msg
}

func locateEntries(f *File, root *yaml.Node) {
	if root.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i].Value, root.Content[i+1]
		if val.Kind != yaml.SequenceNode {
			continue
		}
		for j, item := range val.Content {
			switch {
			case key == "steps" && j < len(f.Steps) && f.Steps[j] != nil:
				f.Steps[j].File, f.Steps[j].Line = f.Name, item.Line
			case key == "attestations" && j < len(f.Attestations) && f.Attestations[j] != nil:
				f.Attestations[j].File, f.Attestations[j].Line = f.Name, item.Line
			}
		}
	}
}

func (e *Entry) where() string { return fmt.Sprintf("%s:%d", e.File, e.Line) }

func checkEntry(e *Entry) []string {
	var errs []string
	add := func(format string, args ...any) {
		errs = append(errs, e.where()+": "+fmt.Sprintf(format, args...))
	}
	if len(e.Nodes) == 0 && len(e.Labels) == 0 && len(e.Refs) == 0 {
		add("entry selects no node: set `nodes:` (node ids), `labels:` (exact labels) or `refs:` (CNCF refs such as M9)")
	}
	for _, fw := range []struct {
		f   *frameworks.Framework
		ids []string
	}{{frameworks.Get(frameworks.ATTACK), e.Attack}, {frameworks.Get(frameworks.ThreatMatrix), e.ThreatMatrix}} {
		for _, id := range fw.ids {
			if err := fw.f.Check(id); err != nil {
				add("%v", err)
			}
		}
	}
	if e.annotates() {
		return errs
	}
	kinds := 0
	for _, set := range []bool{len(e.Policies) > 0 || len(e.Probes) > 0, e.OutOfScope != "", e.Attestable != ""} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		add("an entry is exactly one of: policies with probes, `out-of-scope: reason`, or `attestable: reason` (or only `attack:`/`threat-matrix:` ids, to annotate steps mapped before)")
	}
	if len(e.Policies) > 0 && len(e.Probes) == 0 {
		add("entry names policies but no probes: add the probe families that perform the step, so coverage is proven by execution")
	}
	if len(e.Probes) > 0 && len(e.Policies) == 0 {
		add("entry names probes but no policies: add the policy references that should deny them")
	}
	for _, p := range e.Points {
		if p != probes.PointAdmission && p != probes.PointPipeline {
			add("unknown enforcement point %q: use admission or pipeline", p)
		}
	}
	for _, ref := range e.Policies {
		if err := CheckPolicyRef(ref); err != nil {
			add("%v", err)
		}
	}
	return errs
}

// CheckPolicyRef checks the form of a policy reference: "engine:name" with a known engine;
// "psa:" takes a level.
func CheckPolicyRef(ref string) error {
	engine, name, ok := strings.Cut(ref, ":")
	if !ok || name == "" || !slices.Contains(PolicyEngines, engine) {
		return fmt.Errorf("policy reference %q is not engine:name with engine one of %s", ref, strings.Join(PolicyEngines, ", "))
	}
	if engine == "psa" && !slices.Contains(psaLevels, name) {
		return fmt.Errorf("policy reference %q: Pod Security levels that deny are baseline and restricted", ref)
	}
	return nil
}

func (a *AttestationSpec) parse() (*Attestation, error) {
	where := fmt.Sprintf("%s:%d", a.File, a.Line)
	selects := a.Node != "" || len(a.Nodes)+len(a.Labels)+len(a.Refs) > 0
	if selects == (a.Namespace != "") || a.Control == "" || a.Evidence == "" || a.Expires == "" {
		return nil, fmt.Errorf("%s: an attestation needs the nodes it covers (node, nodes, labels or refs) or a namespace the attacker cannot create workloads in, and control, evidence and expires (YYYY-MM-DD)", where)
	}
	exp, err := time.Parse("2006-01-02", a.Expires)
	if err != nil {
		return nil, fmt.Errorf("%s: attestation expires %q is not a date: use YYYY-MM-DD", where, a.Expires)
	}
	// An attestation holds through the whole of its expiry day, in UTC.
	return &Attestation{Control: a.Control, Evidence: a.Evidence, Expires: exp.Add(24*time.Hour - time.Second), File: a.File, Line: a.Line}, nil
}

// Resolve applies mapping files, in order, to a catalog: a later file's entry for a node
// replaces an earlier one's (a user mapping overrides the default per node). families are the
// known probe families. With strict set, warnings are errors.
func Resolve(c *attacktrees.Catalog, families []string, strict bool, files ...*File) (*Mapping, error) {
	r := newResolver(c, families)
	for _, f := range files {
		selectedBy := map[string]*Entry{}
		for _, e := range f.Steps {
			r.applyEntry(e, selectedBy)
		}
	}
	for _, f := range files {
		for _, a := range f.Attestations {
			r.applyAttestation(a)
		}
	}
	m, errs := r.m, r.errs
	if strict {
		errs = append(errs, m.Warnings...)
	}
	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	return m, nil
}

// resolver is Resolve's state: the mapping built so far, the catalog indexed by label and ref,
// the known probe families, and the errors (warnings go to the mapping).
type resolver struct {
	c              *attacktrees.Catalog
	m              *Mapping
	byLabel, byRef map[string][]*attacktrees.Node
	known          map[string]bool
	errs           []string
}

func newResolver(c *attacktrees.Catalog, families []string) *resolver {
	r := &resolver{c: c, m: &Mapping{steps: map[string]*Step{}},
		byLabel: map[string][]*attacktrees.Node{}, byRef: map[string][]*attacktrees.Node{}, known: map[string]bool{}}
	for _, n := range c.Nodes() {
		r.byLabel[n.Label] = append(r.byLabel[n.Label], n)
		if n.Ref != "" {
			r.byRef[n.Ref] = append(r.byRef[n.Ref], n)
		}
	}
	for _, f := range families {
		r.known[f] = true
	}
	return r
}

func (r *resolver) warn(format string, args ...any) {
	r.m.Warnings = append(r.m.Warnings, fmt.Sprintf(format, args...))
}

// selected are the nodes an entry selects, by id, then label, then ref, warning about each
// selector that selects nothing.
func (r *resolver) selected(e *Entry) []*attacktrees.Node {
	var nodes []*attacktrees.Node
	for _, id := range e.Nodes {
		n, ok := r.c.Node(id)
		if !ok {
			r.warn("%s: node %q is not in the catalog", e.where(), id)
			continue
		}
		nodes = append(nodes, n)
	}
	for _, l := range e.Labels {
		ns := r.byLabel[l]
		if len(ns) == 0 {
			r.warn("%s: no node has the label %q", e.where(), l)
		}
		nodes = append(nodes, ns...)
	}
	for _, ref := range e.Refs {
		ns := r.byRef[ref]
		if len(ns) == 0 {
			r.warn("%s: no node has the ref %q", e.where(), ref)
		}
		nodes = append(nodes, ns...)
	}
	return nodes
}

// applyEntry makes the entry the step of every node it selects; selectedBy is which entry of
// the same file selected a node last.
func (r *resolver) applyEntry(e *Entry, selectedBy map[string]*Entry) {
	nodes := r.selected(e)
	for _, p := range e.Probes {
		if !r.known[p] {
			r.errs = append(r.errs, fmt.Sprintf("%s: unknown probe family %q: add it to the probes or fix the name", e.where(), p))
		}
	}
	points := e.Points
	if len(points) == 0 {
		points = []probes.Point{probes.PointAdmission}
	}
	if e.annotates() {
		r.annotate(e, nodes)
		return
	}
	for _, n := range nodes {
		if prev, ok := selectedBy[n.ID]; ok && prev != e {
			r.warn("%s: node %q is also selected by the entry at line %d; the later entry wins", e.where(), n.ID, prev.Line)
		}
		selectedBy[n.ID] = e
		if n.Kind == attacktrees.KindNote || n.Kind == attacktrees.KindSubtree {
			r.errs = append(r.errs, fmt.Sprintf("%s: node %q is a %s: map the steps it stands for instead", e.where(), n.ID, n.Kind))
			continue
		}
		s := &Step{Node: n, Points: sorted(points), Policies: sorted(e.Policies), Probes: sorted(e.Probes),
			OutOfScope: e.OutOfScope, Attestable: e.Attestable, Note: e.Note, File: e.File, Line: e.Line,
			Attack: sorted(e.Attack), ThreatMatrix: sorted(e.ThreatMatrix)}
		// An entry that replaces a node's mapping without naming techniques keeps the ones
		// named before: the step is the same attacker action (docs/mapping.md, "Frameworks").
		if prev := r.m.steps[n.ID]; prev != nil {
			if len(e.Attack) == 0 {
				s.Attack = prev.Attack
			}
			if len(e.ThreatMatrix) == 0 {
				s.ThreatMatrix = prev.ThreatMatrix
			}
		}
		r.m.steps[n.ID] = s
	}
}

// annotate sets the framework techniques of the steps an annotation-only entry selects; a
// framework the entry does not name keeps its ids. A node no entry mapped before is a warning:
// techniques alone say nothing of what covers it.
func (r *resolver) annotate(e *Entry, nodes []*attacktrees.Node) {
	for _, n := range nodes {
		s := r.m.steps[n.ID]
		if s == nil {
			r.warn("%s: node %q has no mapping to annotate with techniques: map it (policies, out-of-scope or attestable) in an earlier entry or file", e.where(), n.ID)
			continue
		}
		if len(e.Attack) > 0 {
			s.Attack = sorted(e.Attack)
		}
		if len(e.ThreatMatrix) > 0 {
			s.ThreatMatrix = sorted(e.ThreatMatrix)
		}
	}
}

// applyAttestation attaches an attestation to its namespace, or to its node's step (making the
// step if the node has none).
func (r *resolver) applyAttestation(a *AttestationSpec) {
	att, err := a.parse()
	if err != nil {
		r.errs = append(r.errs, err.Error())
		return
	}
	if a.Namespace != "" {
		if r.m.namespaces == nil {
			r.m.namespaces = map[string]*Attestation{}
		}
		r.m.namespaces[a.Namespace] = att
		return
	}
	if a.Node != "" {
		if _, ok := r.c.Node(a.Node); !ok {
			r.warn("%s:%d: attestation for node %q, which is not in the catalog", a.File, a.Line, a.Node)
			return
		}
	}
	// The same selectors as a step entry: by id, label and ref.
	sel := &Entry{Nodes: a.Nodes, Labels: a.Labels, Refs: a.Refs, File: a.File, Line: a.Line}
	if a.Node != "" {
		sel.Nodes = append([]string{a.Node}, a.Nodes...)
	}
	for _, n := range r.selected(sel) {
		s := r.m.steps[n.ID]
		if s == nil {
			s = &Step{Node: n, Points: []probes.Point{probes.PointAdmission}, File: a.File, Line: a.Line}
			r.m.steps[n.ID] = s
		}
		s.Attestation = att
	}
}

func sorted[T cmp.Ordered](in []T) []T {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// CheckDeployed lists the policy references of user mapping entries (any file but the
// embedded default) that name no deployed policy: usually a typo or a policy not yet rolled
// out. The default mapping names every policy a library offers, so its references are not
// checked. deployed reports whether a reference resolves.
func (m *Mapping) CheckDeployed(deployed func(ref string) bool) []string {
	var out []string
	for _, s := range m.Steps() {
		if s.File == DefaultFile {
			continue
		}
		for _, ref := range s.Policies {
			if !deployed(ref) {
				out = append(out, fmt.Sprintf("%s:%d: node %q: policy %q is not deployed in the policy set", s.File, s.Line, s.Node.ID, ref))
			}
		}
	}
	return out
}

// ResolveDefault resolves the embedded default mapping, then the given files over it, against
// a catalog and probes: the mapping every analysis uses.
func ResolveDefault(c *attacktrees.Catalog, ps []probes.Probe, strict bool, files ...*File) (*Mapping, error) {
	def, err := Default()
	if err != nil {
		return nil, fmt.Errorf("load default mapping: %w", err)
	}
	return Resolve(c, probes.Families(ps), strict, append([]*File{def}, files...)...)
}
