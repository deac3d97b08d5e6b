package policies

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/threatcov/threatcov/probes"
)

// Engine names the policy engine a policy is written for.
type Engine string

const (
	EngineRego       Engine = "rego"       // a conftest/konstraint Rego file
	EngineGatekeeper Engine = "gatekeeper" // a ConstraintTemplate with a Constraint
	EngineKyverno    Engine = "kyverno"
	EnginePSA        Engine = "psa" // Pod Security Admission namespace labels
	EngineVAP        Engine = "vap" // ValidatingAdmissionPolicy with its binding
)

// Mode says what a policy does when its logic denies a request.
type Mode string

const (
	ModeEnforce Mode = "enforce" // the request is rejected
	ModeMonitor Mode = "monitor" // dryrun, warn, audit: flagged only
	// ModeNone: deployed but acting on nothing, e.g. a ValidatingAdmissionPolicy without a
	// binding or a ConstraintTemplate without a Constraint. Neither blocks nor monitors.
	ModeNone Mode = "none"
)

// Location points into a user's file (Line 1-based; 0 when unknown, e.g. a cluster object).
type Location struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
}

func (l Location) String() string {
	if l.Line > 0 {
		return fmt.Sprintf("%s:%d", l.File, l.Line)
	}
	return l.File
}

// Policy is one deployed policy, as a mapping can name it and as the analyzer counts it.
type Policy struct {
	// ID is unique and stable, e.g. "gatekeeper:K8sPSPHostNamespace/psp-host-namespace".
	ID string `json:"id"`
	// Refs are every reference a mapping may use to name this policy (sorted, ID first is
	// not implied: ID is always included).
	Refs   []string     `json:"refs"`
	Engine Engine       `json:"engine"`
	Point  probes.Point `json:"point"`
	Mode   Mode         `json:"mode"`
	// Action is the enforcement as written, e.g. "dryrun", "Enforce", "[Deny Audit]".
	Action string `json:"action"`
	Title  string `json:"title,omitempty"`
	// Scope is a human-readable summary of what the policy applies to.
	Scope  string   `json:"scope,omitempty"`
	Source Location `json:"source"`
	// Verifiable policies are executed by the Evaluator; the others are declared only.
	Verifiable bool `json:"verifiable"`
	// Notes explain inventory decisions the user should know about (e.g. a constraint whose
	// template is missing).
	Notes []string `json:"notes,omitempty"`

	exec *execSpec
	// namespaces are the namespaces its match or exclude names: places an attacker tries.
	namespaces []string
	// optOuts are labels and annotations its exclusions read (engines threatcov does not
	// execute; for executed ones OptOuts reads the match and the code).
	optOuts []OptOut
	// kyverno is the static reading of a Kyverno policy, which is not executed.
	kyverno *kyvernoStatic
}

// Namespace is a namespace object found in the inventory; its labels feed Gatekeeper's
// namespaceSelector and Pod Security Admission.
type Namespace struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Source Location          `json:"source"`
}

// Skip records an input that holds no policy, and why.
type Skip struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"` // the skipped document's line in a multi-document file
	Reason string `json:"reason"`
}

// Inventory is the deployed policy set. Every slice is sorted deterministically: policies by
// ID, namespaces by name, skips by file then reason.
type Inventory struct {
	Policies   []*Policy   `json:"policies"`
	Namespaces []Namespace `json:"namespaces"`
	Skipped    []Skip      `json:"skipped,omitempty"`

	// Exemptions are the engine settings that take namespaces out of an engine's reach, one
	// line each, with where they come from.
	Exemptions []string `json:"exemptions,omitempty"`

	refs map[string][]*Policy
	// gkExempt are namespace patterns Gatekeeper's Config exempts from its webhook.
	gkExempt []string
	// gkRules are the rules of Gatekeeper's validating webhook, when the policy set holds
	// its ValidatingWebhookConfiguration (gkRulesKnown).
	gkRules      []webhookRule
	gkRulesKnown bool
	// expansions maps a workload kind to the kind Gatekeeper's ExpansionTemplates generate
	// from it.
	expansions map[string]string
	// objects are every Kubernetes object read, by kind: what Gatekeeper's Config may sync
	// into data.inventory, and LimitRanges.
	objects map[string][]map[string]any
	// synced are the kinds Gatekeeper's Config replicates into data.inventory.
	synced []string
	// kyverno are the Kyverno policies and PolicyExceptions as read, for the kyverno CLI; nil
	// without Kyverno policies.
	kyverno *kyvernoSet
	// kyvernoConfig is Kyverno's ConfigMap when the policy set holds it (kyvernoConfigOf).
	kyvernoConfig *kyvernoConfig
}

// Object is one decoded Kubernetes object and where it came from. File discovery and the
// cluster reader both produce Objects; FromObjects turns them into an Inventory.
type Object struct {
	Object map[string]any
	Source Location
	// Lines optionally maps a dotted field path ("spec.targets.0.rego") to the line where
	// its value starts in Source.File, so errors in embedded Rego keep the user's line.
	Lines map[string]int
}

// MaxFileSize bounds any single input file; larger files are rejected rather than read.
const MaxFileSize = 16 << 20

// ErrInput marks errors caused by a user's file (syntax, size): the CLI maps it to exit 2.
var ErrInput = errors.New("invalid policy input")

// Load reads the policy set from files or folders (recursively, in lexical order). Rego files
// (*.rego, except *_test.rego) become pipeline policies and libraries; YAML and JSON files
// (*.yaml, *.yml, *.json; multi-document and kind: List) become Kubernetes objects handed to
// the same builder as FromObjects. Other files are skipped with a reason. A file that cannot
// be parsed is an error naming file and line; all such errors are returned together.
func Load(paths ...string) (*Inventory, error) {
	files, errs := listFiles("--policies", paths)

	b := newBuilder()
	for _, f := range files {
		if err := b.addFile(f); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return b.build()
}

// listFiles lists the files under paths (files as given, folders walked recursively, skipping
// hidden folders), sorted, each once; flag names the option the paths came from.
func listFiles(flag string, paths []string) ([]string, []error) {
	var files []string
	var errs []error
	seen := map[string]bool{}
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %v: check the %s path", ErrInput, err, flag))
			continue
		}
		if !info.IsDir() {
			if !seen[root] {
				seen[root] = true
				files = append(files, root)
			}
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != root && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !seen[path] {
				seen[path] = true
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: walk %s: %v", ErrInput, root, err))
		}
	}
	sort.Strings(files)
	return files, errs
}

// ReadObjects reads the Kubernetes objects of YAML and JSON files or folders (multi-document,
// kind: List expanded), with where each starts: the manifests a team runs, for `threatcov
// fix --existing` (flag names the option in errors). Other files are ignored; a file that cannot be parsed is an error naming
// file and line.
func ReadObjects(flag string, paths ...string) ([]Object, error) {
	files, errs := listFiles(flag, paths)
	var out []Object
	for _, f := range files {
		switch strings.ToLower(filepath.Ext(f)) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		data, err := readLimited(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs, err := decodeObjects(f, data, flag)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, o := range objs {
			if o.Object != nil {
				out = append(out, o)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// FromObjects builds an Inventory from decoded Kubernetes objects (ConstraintTemplates,
// Constraints, Kyverno policies, Namespaces, ValidatingAdmissionPolicies and bindings).
// Objects of other kinds are recorded in Skipped.
func FromObjects(objs []Object) (*Inventory, error) {
	b := newBuilder()
	for _, o := range objs {
		b.addObject(o)
	}
	return b.build()
}

// Resolve returns the policies a mapping reference names (by ID or any of their Refs),
// sorted by ID; nil when none does.
func (inv *Inventory) Resolve(ref string) []*Policy {
	if inv.refs == nil {
		inv.index()
	}
	return inv.refs[ref]
}

// Policy returns the policy with the given ID, or nil.
func (inv *Inventory) Policy(id string) *Policy {
	for _, p := range inv.Resolve(id) {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (inv *Inventory) index() {
	inv.refs = map[string][]*Policy{}
	for _, p := range inv.Policies {
		for _, r := range p.Refs {
			inv.refs[r] = append(inv.refs[r], p)
		}
	}
}

func (inv *Inventory) sortAll() {
	for _, p := range inv.Policies {
		p.Refs = sortedUnique(append(p.Refs, p.ID))
		sort.Strings(p.Notes)
	}
	sort.SliceStable(inv.Policies, func(i, j int) bool { return inv.Policies[i].ID < inv.Policies[j].ID })
	sort.SliceStable(inv.Namespaces, func(i, j int) bool { return inv.Namespaces[i].Name < inv.Namespaces[j].Name })
	sort.SliceStable(inv.Skipped, func(i, j int) bool {
		if inv.Skipped[i].File != inv.Skipped[j].File {
			return inv.Skipped[i].File < inv.Skipped[j].File
		}
		if inv.Skipped[i].Line != inv.Skipped[j].Line {
			return inv.Skipped[i].Line < inv.Skipped[j].Line
		}
		return inv.Skipped[i].Reason < inv.Skipped[j].Reason
	})
	inv.index()
}

func sortedUnique(s []string) []string {
	sort.Strings(s)
	var out []string
	for _, v := range s {
		if v == "" || (len(out) > 0 && out[len(out)-1] == v) {
			continue
		}
		out = append(out, v)
	}
	return out
}
