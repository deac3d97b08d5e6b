package analyzer

import (
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/threatcov/threatcov/probes"
)

// SchemaVersion is the version of the JSON report (docs/report-schema.md). It changes when a
// field changes meaning or disappears; adding a field does not change it.
const SchemaVersion = "threatcov.dev/report/v1"

// Status is a node's status. Leaves get one of every kind; inner nodes are blocked or open (a
// gate's status follows from its children, docs/semantics.md, "Propagation and paths").
type Status string

const (
	// StatusBlocked: every probe of the step is denied by a deployed, enforcing policy at an
	// enforcement point the step crosses (Evidence says how that is known).
	StatusBlocked Status = "blocked"
	// StatusMonitored: not blocked, but every probe is flagged by a dry-run/warn/audit policy.
	StatusMonitored Status = "monitored"
	// StatusBypassed: a mapped policy is deployed and enforcing, yet some probe is admitted.
	StatusBypassed Status = "bypassed"
	// StatusAttested: covered by an attested non-admission control that has not expired.
	StatusAttested Status = "attested"
	// StatusOpen: none of the above.
	StatusOpen Status = "open"
	// StatusOutOfScope: outside what admission can address (network floods, SDLC); open for
	// paths, excluded from step coverage.
	StatusOutOfScope Status = "out-of-scope"
)

// Evidence says how a blocked status is known.
type Evidence string

const (
	EvidenceVerified Evidence = "verified" // policies executed here denied every probe
	EvidenceDeclared Evidence = "declared" // an enforcing policy that cannot be executed here is deployed
	EvidenceLive     Evidence = "live"     // the cluster's admission denied every probe (server-side dry-run)
)

// Closes reports whether a node with this status closes the attack paths through it.
func (s Status) Closes() bool { return s == StatusBlocked || s == StatusAttested }

// Ratio is a coverage figure: Num of Den. When Den is zero the figure is undefined and Percent
// is nil; reports print "n/a (no ...)" rather than a number.
type Ratio struct {
	Num     *big.Int `json:"covered"`
	Den     *big.Int `json:"total"`
	Percent *float64 `json:"percent"` // rounded to two decimals; null when total is 0
}

// Defined reports whether the figure has a denominator: an empty one is reported as such,
// never as a number (docs/semantics.md, "Figures").
func (r *Ratio) Defined() bool { return r != nil && r.Den != nil && r.Den.Sign() > 0 }

// PercentText is the percentage with two decimals, as the analyzer rounded it, or "n/a".
func (r *Ratio) PercentText() string {
	if !r.Defined() {
		return "n/a"
	}
	if r.Percent != nil {
		return fmt.Sprintf("%.2f%%", *r.Percent)
	}
	num := r.Num
	if num == nil {
		num = new(big.Int)
	}
	q := new(big.Rat).SetFrac(new(big.Int).Mul(num, big.NewInt(100)), r.Den)
	return q.FloatString(2) + "%"
}

// Text is the figure as every report and serve print it: "covered/total (pct%)", or
// "n/a (no WHAT)" when the total is zero.
func (r *Ratio) Text(what string) string {
	if !r.Defined() {
		return "n/a (no " + what + ")"
	}
	return fmt.Sprintf("%s/%s (%s)", CountText(r.Num), r.Den.String(), r.PercentText())
}

// CountText prints a count that may be absent as 0.
func CountText(n *big.Int) string {
	if n == nil {
		return "0"
	}
	return n.String()
}

// Figures are the coverage figures of docs/semantics.md ("Figures"), for a goal, a tree or the
// whole catalog.
type Figures struct {
	Paths PathFigures `json:"paths"`
	// Goals is blocked goals / goals (nil for a single goal).
	Goals *Ratio `json:"goals,omitempty"`
	// Steps is blocked addressable leaves / addressable leaves (attested leaves count as
	// blocked here and are also counted apart in StepCounts).
	Steps      *Ratio         `json:"steps,omitempty"`
	StepCounts map[Status]int `json:"stepCounts,omitempty"`
	// OpenCounts splits the open steps by why they are open (OpenKind).
	OpenCounts map[OpenKind]int `json:"openCounts,omitempty"`
}

// OpenKind says why an open step is open: nothing deployed addresses it, or it awaits a
// written attestation (no policy can address it). Out-of-scope steps are a status of their
// own.
type OpenKind string

const (
	OpenUncovered   OpenKind = "uncovered"            // no deployed control addresses it
	OpenAttestation OpenKind = "awaiting-attestation" // attestable, not attested (or expired)
)

// PathFigures counts minimal attack paths: all, blocked (containing a closed leaf) and open.
type PathFigures struct {
	Coverage Ratio    `json:"coverage"` // blocked / all
	Open     *big.Int `json:"open"`
	// Ceiling is the paths policies can close (those with a step some policy is mapped to)
	// / all paths; OfCeiling is blocked / those paths, coverage against what policies can
	// reach; Residual counts the open paths beyond policies (out-of-scope and attestable steps
	// only): residual risk for other controls (docs/semantics.md, "Figures").
	Ceiling   *Ratio   `json:"ceiling,omitempty"`
	OfCeiling *Ratio   `json:"coverageOfCeiling,omitempty"`
	Residual  *big.Int `json:"residualOpen,omitempty"`
}

// Result is everything one analysis computed. Every report format, the console summary and
// the CI gate read this one value.
type Result struct {
	SchemaVersion string `json:"schemaVersion"`
	// GeneratedAt is set only with --timestamp: reports are otherwise byte-identical for
	// the same inputs, and a baseline changes only when coverage does.
	GeneratedAt     time.Time        `json:"generatedAt,omitzero"`
	Inputs          Inputs           `json:"inputs"`
	Summary         Figures          `json:"summary"`
	Trees           []TreeResult     `json:"trees"`
	Steps           []StepResult     `json:"steps"`
	Nodes           []NodeResult     `json:"nodes"`
	Recommendations []Recommendation `json:"recommendations"`
	// BypassCauses group the bypassed steps by why their probes got through.
	BypassCauses []BypassCause `json:"bypassCauses,omitempty"`
	Warnings     []string      `json:"warnings,omitempty"`
}

// Inputs records what the analysis read, so a report says what it is about.
type Inputs struct {
	Trees      []string `json:"trees"`      // tree ids
	Policies   []string `json:"policies"`   // --policies paths, or the cluster context
	Mapping    []string `json:"mapping"`    // mapping.DefaultFile ("mapping/default.yaml"), then each --mapping path
	Namespaces []string `json:"namespaces"` // namespaces probes were placed in
	// NamespacesUnusable are namespaces the policy set names that the mapping attests the
	// attacker cannot create workloads in, so no probe was placed there.
	NamespacesUnusable []string `json:"namespacesUnusable,omitempty"`
	MaxPaths           int      `json:"maxPaths"`
	// Date is the day attestations were judged against (YYYY-MM-DD, UTC).
	Date string `json:"date,omitempty"`
}

// TreeResult is one tree's figures and goals.
type TreeResult struct {
	ID      string       `json:"id"`
	Title   string       `json:"title"`
	Figures Figures      `json:"figures"`
	Goals   []GoalResult `json:"goals"`
}

// GoalResult is one goal: its status, path figures and its open paths: those policies can
// close, then the residual ones, each shortest first.
type GoalResult struct {
	ID        string  `json:"id"`
	Tree      string  `json:"tree"`
	Label     string  `json:"label"`
	Status    Status  `json:"status"` // blocked or open
	Figures   Figures `json:"figures"`
	OpenPaths []Path  `json:"openPaths"`
	// NotShown counts open paths beyond --max-paths.
	NotShown *big.Int `json:"openPathsNotShown"`
}

// Path is one minimal attack path: the leaves (and actions of mapped inner nodes) that together
// achieve a goal. Fingerprint is the sorted element ids joined by "+": stable across runs.
type Path struct {
	Fingerprint string   `json:"fingerprint"`
	Steps       []string `json:"steps"` // node ids, sorted
	// Residual marks a path with no step any policy is mapped to: beyond what admission
	// policies can close, a risk for other controls. A goal lists its other open paths first.
	Residual bool `json:"residual,omitempty"`
}

// ActionSuffix marks a path element that is the own action of a mapped inner node (the
// analyzer models such a node as AND(its action, its children), docs/semantics.md,
// "Propagation and paths"); the step it stands for is the node.
const ActionSuffix = "#action"

// ActionElement is the path element that stands for node's own action.
func ActionElement(node string) string { return node + ActionSuffix }

// ElementNode is the node a path element stands for, and whether the element is the node's
// own action rather than the node.
func ElementNode(element string) (node string, action bool) {
	return strings.CutSuffix(element, ActionSuffix)
}

// ElementLabel is how reports name a path element, given its node's label.
func ElementLabel(label string, action bool) string {
	if action {
		return label + " (the step itself)"
	}
	return label
}

// NewPath makes the path of a set of elements: sorted, with its fingerprint.
func NewPath(elements []string) Path {
	ids := slices.Clone(elements)
	sort.Strings(ids)
	return Path{Fingerprint: strings.Join(ids, "+"), Steps: ids}
}

// Key is a path's identity: its elements sorted and joined by "+", recomputed so that it does
// not depend on the Fingerprint field of a file (kept only when a path lists no steps).
func (p Path) Key() string {
	if len(p.Steps) == 0 {
		return p.Fingerprint
	}
	return NewPath(p.Steps).Fingerprint
}

// StepResult is the status of one mapped or leaf node and the evidence behind it.
type StepResult struct {
	Node     string         `json:"node"`
	Tree     string         `json:"tree"`
	Label    string         `json:"label"`
	Ref      string         `json:"ref,omitempty"`
	Leaf     bool           `json:"leaf"` // false for a mapped inner node (an attacker action with children)
	Status   Status         `json:"status"`
	Evidence Evidence       `json:"evidence,omitempty"`
	Points   []probes.Point `json:"points,omitempty"` // enforcement points the step crosses
	// Blocking are the policy ids that deny every probe (or, declared, are deployed enforcing).
	Blocking []string `json:"blocking,omitempty"`
	// Monitoring are the policy ids that flag the probes without blocking.
	Monitoring []string `json:"monitoring,omitempty"`
	// Admitted names the probes (probe@namespace) no enforcing policy denied, for bypassed steps.
	Admitted []string `json:"admitted,omitempty"`
	// Discovered are blocking policies the mapping does not name (found by execution);
	// MappedNotBlocking the deployed policies it names that do not deny every probe.
	Discovered        []string `json:"discovered,omitempty"`
	MappedNotBlocking []string `json:"mappedNotBlocking,omitempty"`
	// OverBroad are policies that deny a probe's benign twin too: their denials prove nothing.
	OverBroad []string `json:"overBroad,omitempty"`
	// Mapped are the policy references of the mapping; Missing those with no policy deployed at
	// a point the step crosses.
	Mapped      []string     `json:"mapped,omitempty"`
	Missing     []string     `json:"missing,omitempty"`
	Verdicts    []Verdict    `json:"verdicts,omitempty"`
	Attestation *Attestation `json:"attestation,omitempty"`
	Reason      string       `json:"reason,omitempty"`   // why out of scope, or why not addressable
	OpenKind    OpenKind     `json:"openKind,omitempty"` // for open steps: why
	OpenPaths   *big.Int     `json:"openPaths"`          // open paths (all goals) through this step
	Explanation string       `json:"explanation"`
	// Attack and ThreatMatrix are the techniques the step instantiates, from the mapping: MITRE
	// ATT&CK Enterprise and Threat Matrix for Kubernetes ids (docs/frameworks.md).
	Attack       []string `json:"attack,omitempty"`
	ThreatMatrix []string `json:"threatMatrix,omitempty"`
}

// Verdict is one policy's verdict on one probe.
type Verdict struct {
	Probe     string       `json:"probe"`
	Namespace string       `json:"namespace,omitempty"`
	Policy    string       `json:"policy"`
	Point     probes.Point `json:"point"`
	Mode      string       `json:"mode"`
	Verdict   string       `json:"verdict"` // denied, admitted, not-applicable, error
	Via       string       `json:"via,omitempty"`
	// Twin is the policy's verdict on the probe's benign twin, for a denied probe: a denial
	// counts only when the twin is not denied too.
	Twin    string `json:"twin,omitempty"`
	Message string `json:"message,omitempty"`
}

// Attestation is a non-admission control someone vouched for.
type Attestation struct {
	Control  string    `json:"control"`
	Evidence string    `json:"evidence"`
	Expires  time.Time `json:"expires"`
	Expired  bool      `json:"expired"`
}

// NodeResult is every catalog node's status, for rendering trees.
type NodeResult struct {
	ID        string   `json:"id"`
	Tree      string   `json:"tree"`
	Status    Status   `json:"status"`
	Evidence  Evidence `json:"evidence,omitempty"`
	Policies  []string `json:"policies,omitempty"` // blocking policy ids (leaves and mapped nodes)
	OpenPaths *big.Int `json:"openPaths"`          // open paths through the node, over all goals
}

// Recommendation is one change to the policy set (or one attestation), ranked by the paths it
// closes (docs/semantics.md, "Recommendations").
type Recommendation struct {
	Rank int `json:"rank"`
	// Action is "enforce" (switch a monitoring policy), "label" (a namespace, for Pod
	// Security), "fix" (an enforcing policy that is bypassed), "deploy" (a policy from a public
	// library, or one the team's mapping names) or "attest" (a namespace tenants cannot use).
	Action string `json:"action"`
	// Policy is the policy id or mapping reference it concerns ("" for an attestation).
	Policy string `json:"policy,omitempty"`
	// Change is the concrete change: the field and file, the namespace and label, the
	// library folder.
	Change   string `json:"change"`
	Source   string `json:"source,omitempty"`   // deploy: the library folder at a pinned commit
	Location string `json:"location,omitempty"` // the file (and line) to change
	// Why lists, for a fix, the bypass causes the policy must address.
	Why []string `json:"why,omitempty"`
	// Established says how the steps it closes are known: re-analysed with the change
	// applied, or estimated (assumed to close the steps it addresses).
	Established Established `json:"established"`
	// Alternatives close exactly the same steps (e.g. the Kyverno twin of a Gatekeeper kind).
	Alternatives []string `json:"alternatives,omitempty"`
	Steps        []string `json:"steps"` // node ids it would block
	// Closes is the number of open paths it closes given the recommendations ranked above it.
	Closes *big.Int `json:"closes"`
	Exact  bool     `json:"exact"` // the set was found by exhaustive search, not greedily
}

// Established says how a recommendation's effect is known.
type Established string

const (
	EstablishedSimulated Established = "simulated" // re-analysed with the change applied
	EstablishedEstimated Established = "estimated" // assumed from what the change addresses
)
