package probes

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/yamldoc"
)

// The default probe families. base.yaml is the benign Pod every pod and container family patches;
// README.md documents the format.
//
//go:embed families/*.yaml
var defaultProbeFS embed.FS

// Probe variants. Pod-scope families get the first three; container-scope families all five
// unless the attack needs a field the variant's container may not carry.
const (
	VariantPod                = "pod"
	VariantDeployment         = "deployment"
	VariantCronJob            = "cronjob"
	VariantInitContainer      = "initcontainer"
	VariantEphemeralContainer = "ephemeralcontainer"
)

// Probe family scopes: where in the request the attack sits.
const (
	ScopePod       = "pod"
	ScopeContainer = "container"
	ScopeObject    = "object"
)

// baseFileName is the file that holds the benign base Pod of a probe folder.
const baseFileName = "base.yaml"

// attackingContainer is the name every generated variant gives the container that carries the
// attack, so a policy's message can be traced back to it.
const (
	ephemeralName = "debugger"
	initName      = "setup"
)

// Fields an ephemeral container may not set (core/v1 validation of EphemeralContainerCommon):
// an attack that needs one of them cannot be carried by an ephemeral container.
var ephemeralForbidden = []string{"ports", "resources", "resizePolicy", "lifecycle", "livenessProbe", "readinessProbe", "startupProbe", "restartPolicy"}

// Fields an init container without restartPolicy Always may not set, and its ports: it serves
// nothing, and the API server warns about a port it shares with the app container.
var initForbidden = []string{"ports", "lifecycle", "livenessProbe", "readinessProbe", "startupProbe"}

var familyNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// probeFamily is one file of a probe folder, as written.
type probeFamily struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Scope       string `yaml:"scope"`
	// Steps lists the CNCF tree leaves (labels, as drawn) the family performs; documentation
	// for the mapping author, not used to map.
	Steps []string `yaml:"steps"`
	// PSALevel is the lowest Pod Security level that denies the attack ("baseline",
	// "restricted"), empty when Pod Security Admission cannot see it.
	PSALevel string `yaml:"psaLevel"`
	// PSAChecks are the check IDs of k8s.io/pod-security-admission the attack fails at the
	// restricted level; the tests hold the family to exactly this list.
	PSAChecks    []string        `yaml:"psaChecks"`
	Variants     []string        `yaml:"variants"`
	Attack       *attackPatch    `yaml:"attack"`
	Alternatives []alternative   `yaml:"alternatives"`
	Objects      []objectVariant `yaml:"objects"`
	line         int             // line of the family's name
	file         string          // file it was read from
	base         map[string]any  // benign Pod of its folder
	lines        map[string]int  // line per alternative/object name
}

// attackPatch is what turns the benign base Pod into the attack: JSON merge patches (RFC 7386,
// null deletes a field, lists are replaced whole) onto the Pod and onto its first container.
type attackPatch struct {
	Pod       map[string]any `yaml:"pod"`
	Container map[string]any `yaml:"container"`
}

// alternative is another way to carry the same attack, emitted as one bare Pod probe named
// "<family>/<name>" (e.g. the containerd socket next to the Docker socket).
type alternative struct {
	Name        string      `yaml:"name"`
	Description string      `yaml:"description"`
	Attack      attackPatch `yaml:"attack"`
	// PSALevel and PSAChecks replace the family's when the alternative fails other Pod
	// Security checks than the family's attack (root by omission fails runAsNonRoot only,
	// seccomp left unset fails restricted but not baseline). Both set or both left out.
	PSALevel  string   `yaml:"psaLevel"`
	PSAChecks []string `yaml:"psaChecks"`
}

// objectVariant is one hand-written request of an object-scope family (RBAC objects, Services,
// pods/exec connections).
type objectVariant struct {
	Name        string         `yaml:"name"`
	Description string         `yaml:"description"`
	Operation   string         `yaml:"operation"`
	SubResource string         `yaml:"subResource"`
	Object      map[string]any `yaml:"object"`
	OldObject   map[string]any `yaml:"oldObject"`
	// Benign is the same request without the attack (e.g. a binding to a read-only role),
	// the twin a policy must admit for its denial to count; omit it where the request
	// itself is the attack (an exec into a Pod). BenignOldObject defaults to OldObject.
	Benign          map[string]any `yaml:"benign"`
	BenignOldObject map[string]any `yaml:"benignOldObject"`
}

// Default returns the embedded probe families expanded into their variants, sorted by
// Name.
func Default() ([]Probe, error) { return DefaultWithBase("") }

// DefaultWithBase is Default over the benign base Pod in the file basePod instead of the
// embedded one (when basePod is not empty): a team whose policies reject the embedded base
// (another registry, required labels) sets one that passes them, so that denials of the
// probes prove the attack is recognised rather than the base rejected (docs/probes.md, twins).
// Its probes are checked against the Kubernetes types, as user files are.
func DefaultWithBase(basePod string) ([]Probe, error) {
	base, err := readBase(defaultProbeFS, "families/"+baseFileName, nil)
	if err != nil {
		return nil, err
	}
	if basePod != "" {
		data, err := readProbeFile(basePod)
		if err != nil {
			return nil, err
		}
		if base, err = readBase(nil, basePod, data); err != nil {
			return nil, err
		}
	}
	entries, err := fs.Glob(defaultProbeFS, "families/*.yaml")
	if err != nil {
		return nil, err
	}
	var fams []*probeFamily
	for _, name := range entries {
		if filepath.Base(name) == baseFileName {
			continue
		}
		data, err := defaultProbeFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		// Name embedded files as they are in the repository, so errors and Probe.File point
		// somewhere a reader can open.
		f, err := parseFamily("probes/"+name, data, base)
		if err != nil {
			return nil, err
		}
		fams = append(fams, f)
	}
	// The embedded probes are decoded strictly into k8s.io/api types by
	// TestDefaultProbesAreValidObjects and TestEmbeddedProbesPassLoadValidation, so a binary
	// cannot carry an invalid one: skipping checkKnownKind here saves ~15% of a run's CPU.
	return expandFamilies(fams, basePod != "")
}

// Load reads probe families from files and folders (folders recursively, *.yaml and
// *.yml). A folder may hold its own base.yaml; families elsewhere patch the embedded base Pod.
// The result is sorted by Name; a name used twice is an error naming both files.
func Load(paths ...string) ([]Probe, error) {
	defBase, err := readBase(defaultProbeFS, "families/"+baseFileName, nil)
	if err != nil {
		return nil, err
	}
	var fams []*probeFamily
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, fmt.Errorf("load probes: %w", err)
		}
		if !info.IsDir() {
			f, err := loadFamilyFile(root, defBase)
			if err != nil {
				return nil, err
			}
			fams = append(fams, f)
			continue
		}
		bases := map[string]folderBaseResult{}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !isProbeFile(path) {
				return nil
			}
			if d.Name() == baseFileName {
				return nil
			}
			base, err := folderBase(filepath.Dir(path), root, bases, defBase)
			if err != nil {
				return err
			}
			f, err := loadFamilyFile(path, base)
			if err != nil {
				return err
			}
			fams = append(fams, f)
			return nil
		})
		if err != nil {
			var perr *ProbeError
			if errors.As(err, &perr) {
				return nil, err
			}
			return nil, fmt.Errorf("load probes: %w", err)
		}
	}
	return expandFamilies(fams, true)
}

type folderBaseResult struct {
	base map[string]any
	err  error
}

// folderBase finds the base.yaml nearest to dir, up to root, falling back to the default.
func folderBase(dir, root string, cache map[string]folderBaseResult, def map[string]any) (map[string]any, error) {
	for {
		if b, ok := cache[dir]; ok {
			return b.base, b.err
		}
		p := filepath.Join(dir, baseFileName)
		data, err := readProbeFile(p)
		var perr *ProbeError
		switch {
		case err == nil:
			b, err := readBase(nil, p, data)
			cache[dir] = folderBaseResult{b, err}
			return b, err
		case errors.As(err, &perr):
			cache[dir] = folderBaseResult{nil, err}
			return nil, err
		}
		if filepath.Clean(dir) == filepath.Clean(root) || filepath.Dir(dir) == dir {
			return def, nil
		}
		dir = filepath.Dir(dir)
	}
}

func isProbeFile(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yaml" || ext == ".yml"
}

func loadFamilyFile(path string, base map[string]any) (*probeFamily, error) {
	data, err := readProbeFile(path)
	if err != nil {
		return nil, err
	}
	return parseFamily(path, data, base)
}

// readProbeFile reads at most attacktrees.MaxFileSize bytes, like tree and mapping files, so
// a huge file or a device that never ends (--probes /dev/zero) cannot exhaust memory. Only
// the size is a *ProbeError; other errors are the file system's.
func readProbeFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load probes: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, attacktrees.MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("load probes: %w", err)
	}
	if len(data) > attacktrees.MaxFileSize {
		return nil, probeErr(path, 0, "file is larger than %d bytes: a probe family or base Pod is YAML of a few kilobytes; check the path", attacktrees.MaxFileSize)
	}
	return data, nil
}

// ProbeError is a problem in a probe file, located at file:line.
type ProbeError struct {
	File string
	Line int
	Msg  string
}

func (e *ProbeError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func probeErr(file string, line int, format string, args ...any) error {
	return &ProbeError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func probeYAMLErr(file string, err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if line, rest, ok := yamldoc.Line(msg); ok {
		return probeErr(file, line, "%s (see probes/families/README.md for the probe format)", rest)
	}
	return probeErr(file, 0, "%s", strings.TrimPrefix(msg, "yaml: "))
}

func readBase(fsys fs.FS, path string, data []byte) (map[string]any, error) {
	if fsys != nil {
		var err error
		if data, err = fs.ReadFile(fsys, path); err != nil {
			return nil, err
		}
	}
	var raw any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&raw); err != nil {
		return nil, probeYAMLErr(path, err)
	}
	v, err := jsonValue(raw)
	if err != nil {
		return nil, probeErr(path, 1, "%v", err)
	}
	pod, ok := v.(map[string]any)
	if !ok || pod["kind"] != "Pod" || pod["apiVersion"] != "v1" {
		return nil, probeErr(path, 1, "a probe base must be one Pod (apiVersion: v1, kind: Pod)")
	}
	spec, _ := pod["spec"].(map[string]any)
	cs, _ := spec["containers"].([]any)
	if len(cs) == 0 {
		return nil, probeErr(path, 1, "the base Pod needs at least one container: its first container carries container attacks")
	}
	return pod, nil
}

func parseFamily(file string, data []byte, base map[string]any) (*probeFamily, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, probeYAMLErr(file, err)
	}
	if len(root.Content) == 0 {
		return nil, probeErr(file, 1, "empty probe file: write one probe family (name, scope, attack or objects)")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f probeFamily
	if err := dec.Decode(&f); err != nil {
		return nil, probeYAMLErr(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		line := extra.Line
		if len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		return nil, probeErr(file, line, "one probe family per file: start another file for this document")
	}
	f.file, f.base = file, base
	f.line = yamlKeyLine(root.Content[0], "name")
	f.lines = map[string]int{}
	for _, list := range []string{"alternatives", "objects"} {
		if n := yamlMapValue(root.Content[0], list); n != nil && n.Kind == yaml.SequenceNode {
			for _, item := range n.Content {
				if nameN := yamlMapValue(item, "name"); nameN != nil {
					f.lines[list+"/"+nameN.Value] = nameN.Line
				}
			}
		}
	}
	if err := f.normalize(); err != nil {
		return nil, err
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

func yamlMapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func yamlKeyLine(m *yaml.Node, key string) int {
	if n := yamlMapValue(m, key); n != nil {
		return n.Line
	}
	return m.Line
}

// normalize converts the YAML values into the JSON-compatible shapes the evaluator and the
// unstructured converter expect (string keys, int64, float64).
func (f *probeFamily) normalize() error {
	conv := func(m *map[string]any, what string, line int) error {
		if *m == nil {
			return nil
		}
		v, err := jsonValue(*m)
		if err != nil {
			return probeErr(f.file, line, "%s: %v", what, err)
		}
		*m = v.(map[string]any)
		return nil
	}
	if f.Attack != nil {
		if err := conv(&f.Attack.Pod, "attack.pod", f.line); err != nil {
			return err
		}
		if err := conv(&f.Attack.Container, "attack.container", f.line); err != nil {
			return err
		}
	}
	for i := range f.Alternatives {
		a := &f.Alternatives[i]
		line := f.lines["alternatives/"+a.Name]
		if err := conv(&a.Attack.Pod, "attack.pod", line); err != nil {
			return err
		}
		if err := conv(&a.Attack.Container, "attack.container", line); err != nil {
			return err
		}
	}
	for i := range f.Objects {
		o := &f.Objects[i]
		line := f.lines["objects/"+o.Name]
		if err := conv(&o.Object, "object", line); err != nil {
			return err
		}
		if err := conv(&o.OldObject, "oldObject", line); err != nil {
			return err
		}
		if err := conv(&o.Benign, "benign", line); err != nil {
			return err
		}
		if err := conv(&o.BenignOldObject, "benignOldObject", line); err != nil {
			return err
		}
	}
	return nil
}

func jsonValue(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			n, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case map[any]any:
		return nil, fmt.Errorf("mapping keys must be strings")
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			n, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case int:
		return int64(t), nil
	case int64:
		return t, nil
	case uint64:
		return nil, fmt.Errorf("number %d out of range", t)
	case float64, string, bool, nil:
		return t, nil
	default:
		return nil, fmt.Errorf("unsupported value %v (%T)", v, v)
	}
}

// validate checks a family as loaded: the checks common to every scope, then those of its scope.
func (f *probeFamily) validate() error {
	if !familyNameRE.MatchString(f.Name) {
		return probeErr(f.file, f.line, "family name %q must be lower-case words joined by '-' (it names the probes)", f.Name)
	}
	if strings.TrimSpace(f.Description) == "" {
		return probeErr(f.file, f.line, "family %s: add a description saying what the attack does", f.Name)
	}
	if err := checkPSA(f.PSALevel, f.PSAChecks); err != nil {
		return probeErr(f.file, f.line, "family %s: %v", f.Name, err)
	}
	switch f.Scope {
	case ScopePod, ScopeContainer:
		return f.validatePatches()
	case ScopeObject:
		return f.validateObjects()
	default:
		return probeErr(f.file, f.line, "family %s: scope %q: use pod, container or object", f.Name, f.Scope)
	}
}

// validatePatches checks a pod or container family: its attack patch, its alternatives and
// the variants it asks for.
func (f *probeFamily) validatePatches() error {
	if len(f.Objects) > 0 {
		return probeErr(f.file, f.line, "family %s: objects belong to scope object; a %s family has an attack patch", f.Name, f.Scope)
	}
	if f.Attack == nil || (len(f.Attack.Pod) == 0 && len(f.Attack.Container) == 0) {
		return probeErr(f.file, f.line, "family %s: add attack.pod and/or attack.container (merge patches onto the base Pod)", f.Name)
	}
	if f.Scope == ScopeContainer && len(f.Attack.Pod) > 0 {
		return probeErr(f.file, f.line, "family %s: a container family patches only the container (attack.container); use scope pod for pod-level changes", f.Name)
	}
	if len(f.Attack.Pod) > 0 {
		if _, ok := f.Attack.Pod["kind"]; ok {
			return probeErr(f.file, f.line, "family %s: attack.pod may not change the kind", f.Name)
		}
	}
	seen := map[string]bool{}
	for _, a := range f.Alternatives {
		if err := f.validateAlternative(a, seen); err != nil {
			return err
		}
	}
	possible := f.possibleVariants()
	for _, v := range f.Variants {
		if !slices.Contains(possible, v) {
			return probeErr(f.file, f.line, "family %s: variant %q cannot carry this attack (possible: %s)", f.Name, v, strings.Join(possible, ", "))
		}
	}
	return nil
}

// validateAlternative checks one alternative attack; seen holds the names of those before it.
func (f *probeFamily) validateAlternative(a alternative, seen map[string]bool) error {
	line := f.lines["alternatives/"+a.Name]
	if !familyNameRE.MatchString(a.Name) {
		return probeErr(f.file, line, "family %s: alternative name %q must be lower-case words joined by '-'", f.Name, a.Name)
	}
	if seen[a.Name] || slices.Contains(allVariants, a.Name) {
		return probeErr(f.file, line, "family %s: alternative %q is used twice or collides with a generated variant", f.Name, a.Name)
	}
	seen[a.Name] = true
	if len(a.Attack.Pod) == 0 && len(a.Attack.Container) == 0 {
		return probeErr(f.file, line, "family %s: alternative %s has no attack", f.Name, a.Name)
	}
	if _, ok := a.Attack.Pod["kind"]; ok {
		return probeErr(f.file, line, "family %s: alternative %s: attack.pod may not change the kind", f.Name, a.Name)
	}
	if err := checkPSA(a.PSALevel, a.PSAChecks); err != nil {
		return probeErr(f.file, line, "family %s: alternative %s: %v", f.Name, a.Name, err)
	}
	return nil
}

// validateObjects checks an object family: its requests, and nothing of the patch scopes.
func (f *probeFamily) validateObjects() error {
	if f.Attack != nil || len(f.Alternatives) > 0 || len(f.Variants) > 0 {
		return probeErr(f.file, f.line, "family %s: an object family lists its requests under objects (no attack, alternatives or variants)", f.Name)
	}
	if len(f.Objects) == 0 {
		return probeErr(f.file, f.line, "family %s: add at least one entry under objects", f.Name)
	}
	seen := map[string]bool{}
	for _, o := range f.Objects {
		if err := f.validateObject(o, seen); err != nil {
			return err
		}
	}
	return nil
}

// validateObject checks one request of an object family; seen holds the names of those before it.
func (f *probeFamily) validateObject(o objectVariant, seen map[string]bool) error {
	line := f.lines["objects/"+o.Name]
	if !familyNameRE.MatchString(o.Name) {
		return probeErr(f.file, line, "family %s: object name %q must be lower-case words joined by '-'", f.Name, o.Name)
	}
	if seen[o.Name] {
		return probeErr(f.file, line, "family %s: object %q is listed twice", f.Name, o.Name)
	}
	seen[o.Name] = true
	if o.Object == nil {
		return probeErr(f.file, line, "family %s: object %s has no object manifest", f.Name, o.Name)
	}
	for _, k := range []string{"apiVersion", "kind"} {
		if s, _ := o.Object[k].(string); s == "" {
			return probeErr(f.file, line, "family %s: object %s: the manifest needs %s", f.Name, o.Name, k)
		}
	}
	switch op := o.operation(); op {
	case "CREATE", "CONNECT":
		if o.OldObject != nil {
			return probeErr(f.file, line, "family %s: object %s: oldObject only goes with operation UPDATE", f.Name, o.Name)
		}
	case "UPDATE":
		if o.OldObject == nil {
			return probeErr(f.file, line, "family %s: object %s: an UPDATE needs oldObject", f.Name, o.Name)
		}
	default:
		return probeErr(f.file, line, "family %s: object %s: operation %q: use CREATE, UPDATE or CONNECT", f.Name, o.Name, op)
	}
	if err := o.checkBenign(); err != nil {
		return probeErr(f.file, line, "family %s: object %s: %v", f.Name, o.Name, err)
	}
	return nil
}

// psaCheckRE is the shape of a k8s.io/pod-security-admission check ID (hostNamespaces,
// seccompProfile_restricted); the tests hold every declared ID to the checks PSA runs.
var psaCheckRE = regexp.MustCompile(`^[a-z][A-Za-z]*(_[a-z]+)?$`)

// checkPSA validates a psaLevel with its psaChecks, of a family or of one alternative.
func checkPSA(level string, checks []string) error {
	switch level {
	case "", "baseline", "restricted":
	default:
		return fmt.Errorf("psaLevel %q: use baseline, restricted or leave it out", level)
	}
	if (level == "") != (len(checks) == 0) {
		return errors.New("psaLevel and psaChecks go together: both set or both left out")
	}
	seen := map[string]bool{}
	for _, c := range checks {
		if !psaCheckRE.MatchString(c) || seen[c] {
			return fmt.Errorf("psaChecks: %q is not a Pod Security check ID or is listed twice (e.g. hostNamespaces, seccompProfile_restricted)", c)
		}
		seen[c] = true
	}
	return nil
}

// psa returns the Pod Security expectation of the family's probe of a variant or alternative:
// the lowest level that denies it ("" if none) and the restricted checks it fails. An
// alternative that declares its own replaces the family's.
func (f *probeFamily) psa(variant string) (level string, checks []string) {
	for _, a := range f.Alternatives {
		if a.Name == variant && a.PSALevel != "" {
			return a.PSALevel, a.PSAChecks
		}
	}
	return f.PSALevel, f.PSAChecks
}

// checkBenign holds a benign twin to the request shape of its probe: the same apiVersion and
// kind (a policy matches on them), and an old object only where the probe is an UPDATE.
func (o objectVariant) checkBenign() error {
	if o.Benign == nil {
		if o.BenignOldObject != nil {
			return errors.New("benignOldObject without benign: write the benign object too")
		}
		return nil
	}
	for _, k := range []string{"apiVersion", "kind"} {
		if o.Benign[k] != o.Object[k] {
			return fmt.Errorf("benign %s %v differs from the object's %v: the twin is the same request without the attack", k, o.Benign[k], o.Object[k])
		}
	}
	if o.BenignOldObject != nil && o.operation() != "UPDATE" {
		return errors.New("benignOldObject only goes with operation UPDATE")
	}
	return nil
}

func (o objectVariant) operation() string {
	if o.Operation == "" {
		return "CREATE"
	}
	return o.Operation
}

var allVariants = []string{VariantPod, VariantDeployment, VariantCronJob, VariantInitContainer, VariantEphemeralContainer}

// possibleVariants lists the variants that can carry the family's attack: pod-level attacks
// only fit whole pods; a container attack that sets a field forbidden to init or ephemeral
// containers cannot be moved there (removing a field, e.g. resources, can).
func (f *probeFamily) possibleVariants() []string {
	out := []string{VariantPod, VariantDeployment, VariantCronJob}
	if f.Scope != ScopeContainer {
		return out
	}
	if !setsAny(f.Attack.Container, initForbidden) {
		out = append(out, VariantInitContainer)
	}
	if !setsAny(f.Attack.Container, ephemeralForbidden) {
		out = append(out, VariantEphemeralContainer)
	}
	return out
}

func setsAny(patch map[string]any, fields []string) bool {
	for _, k := range fields {
		if v, ok := patch[k]; ok && v != nil {
			return true
		}
	}
	return false
}

func (f *probeFamily) variants() []string {
	if len(f.Variants) > 0 {
		return f.Variants
	}
	return f.possibleVariants()
}

// expandFamilies expands families into sorted probes; validate checks each against the k8s.io/api
// types (checkKnownKind), which user files need and the embedded, test-checked ones do not.
func expandFamilies(fams []*probeFamily, validate bool) ([]Probe, error) {
	var out []Probe
	where := map[string]string{}
	twins := &twinCache{}
	for _, f := range fams {
		if prev, ok := where[f.Name]; ok {
			return nil, probeErr(f.file, f.line, "probe family %s is also defined in %s: rename one", f.Name, prev)
		}
		where[f.Name] = fmt.Sprintf("%s:%d", f.file, f.line)
		ps, err := f.expand(twins)
		if err != nil {
			return nil, err
		}
		if validate {
			for _, p := range ps {
				if err := checkKnownKind(p); err != nil {
					return nil, err
				}
				if p.Twin != nil {
					if err := checkKnownKind(*p.Twin); err != nil {
						return nil, err
					}
				}
			}
		}
		out = append(out, ps...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// twinCache shares benign twins between families: one per base Pod and variant.
type twinCache struct {
	bases []map[string]any // distinct base Pods in first-seen order
	twins map[string]*Probe
}

// twin returns the benign twin of f's variant: the base Pod carried as that variant, with no
// attack patch.
func (c *twinCache) twin(f *probeFamily, variant string) (*Probe, error) {
	n := -1
	for i, b := range c.bases {
		if reflect.ValueOf(b).UnsafePointer() == reflect.ValueOf(f.base).UnsafePointer() {
			n = i
		}
	}
	if n < 0 {
		n = len(c.bases)
		c.bases = append(c.bases, f.base)
	}
	name := TwinFamily + "/" + variant
	if n > 0 {
		name += fmt.Sprintf("-%d", n) // a folder's own base.yaml
	}
	if t, ok := c.twins[name]; ok {
		return t, nil
	}
	t, err := f.build(variant, attackPatch{}, "the benign base workload, carried as "+variant, f.line)
	if err != nil {
		return nil, err
	}
	t.Name, t.Family, t.Variant = name, TwinFamily, variant
	setObjectName(t.Object, TwinFamily+"-"+variant)
	if c.twins == nil {
		c.twins = map[string]*Probe{}
	}
	c.twins[name] = &t
	return &t, nil
}

func (f *probeFamily) expand(twins *twinCache) ([]Probe, error) {
	var out []Probe
	if f.Scope == ScopeObject {
		for _, o := range f.Objects {
			var twin *Probe
			if o.Benign != nil {
				old := o.BenignOldObject
				if old == nil {
					old = o.OldObject
				}
				twin = &Probe{Name: f.Name + "/" + o.Name + "~benign", Family: TwinFamily, Variant: o.Name,
					Description: "the benign twin of " + f.Name + "/" + o.Name, Operation: o.operation(),
					SubResource: o.SubResource, Object: DeepCopy(o.Benign), OldObject: DeepCopy(old),
					File: f.file, Line: f.lines["objects/"+o.Name]}
			}
			out = append(out, Probe{
				Twin:        twin,
				Name:        f.Name + "/" + o.Name,
				Family:      f.Name,
				Variant:     o.Name,
				Description: joinDesc(f.Description, o.Description),
				Operation:   o.operation(),
				SubResource: o.SubResource,
				Object:      DeepCopy(o.Object),
				OldObject:   DeepCopy(o.OldObject),
				File:        f.file,
				Line:        f.lines["objects/"+o.Name],
			})
		}
		return out, nil
	}
	for _, v := range f.variants() {
		p, err := f.build(v, *f.Attack, f.Description, f.line)
		if err != nil {
			return nil, err
		}
		if p.Twin, err = twins.twin(f, v); err != nil {
			return nil, err
		}
		p.Variant = v
		p.Name = f.Name + "/" + v
		out = append(out, p)
	}
	for _, a := range f.Alternatives {
		line := f.lines["alternatives/"+a.Name]
		p, err := f.build(VariantPod, a.Attack, joinDesc(f.Description, a.Description), line)
		if err != nil {
			return nil, err
		}
		if p.Twin, err = twins.twin(f, VariantPod); err != nil {
			return nil, err
		}
		p.Variant = a.Name
		p.Name = f.Name + "/" + a.Name
		p.Object["metadata"].(map[string]any)["name"] = f.Name + "-" + a.Name
		out = append(out, p)
	}
	return out, nil
}

func joinDesc(a, b string) string {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if b == "" {
		return a
	}
	return a + " " + b
}

// attackPod applies the attack to a copy of the base Pod: the pod patch onto the Pod, the
// container patch onto its first container.
func (f *probeFamily) attackPod(a attackPatch, line int) (map[string]any, error) {
	pod := DeepCopy(f.base)
	if len(a.Pod) > 0 {
		pod = mergePatch(pod, a.Pod).(map[string]any)
	}
	if len(a.Container) > 0 {
		c, err := firstContainer(pod)
		if err != nil {
			return nil, probeErr(f.file, line, "family %s: %v", f.Name, err)
		}
		spec := pod["spec"].(map[string]any)
		cs := spec["containers"].([]any)
		cs[0] = mergePatch(c, a.Container)
	}
	if _, err := firstContainer(pod); err != nil {
		return nil, probeErr(f.file, line, "family %s: after the attack patch: %v", f.Name, err)
	}
	return pod, nil
}

func firstContainer(pod map[string]any) (map[string]any, error) {
	spec, ok := pod["spec"].(map[string]any)
	if !ok {
		return nil, errors.New("the Pod has no spec")
	}
	cs, ok := spec["containers"].([]any)
	if !ok || len(cs) == 0 {
		return nil, errors.New("the Pod has no containers")
	}
	c, ok := cs[0].(map[string]any)
	if !ok {
		return nil, errors.New("spec.containers[0] is not an object")
	}
	return c, nil
}

func (f *probeFamily) build(variant string, a attackPatch, desc string, line int) (Probe, error) {
	p := Probe{Family: f.Name, Description: desc, Operation: "CREATE", File: f.file, Line: line}
	name := f.Name + "-" + variant
	switch variant {
	case VariantPod, VariantDeployment, VariantCronJob:
		pod, err := f.attackPod(a, line)
		if err != nil {
			return p, err
		}
		setObjectName(pod, name)
		switch variant {
		case VariantPod:
			p.Object = pod
		case VariantDeployment:
			p.Object = deployment(pod, name)
		case VariantCronJob:
			p.Object = cronJob(pod, name)
		}
	case VariantInitContainer:
		attacked, err := f.attackPod(a, line)
		if err != nil {
			return p, err
		}
		pod := DeepCopy(f.base)
		setObjectName(pod, name)
		c, _ := firstContainer(attacked)
		c = withoutFields(c, initForbidden)
		c["name"] = initName
		spec := pod["spec"].(map[string]any)
		spec["initContainers"] = []any{c}
		p.Object = pod
	case VariantEphemeralContainer:
		attacked, err := f.attackPod(a, line)
		if err != nil {
			return p, err
		}
		old := DeepCopy(f.base)
		setObjectName(old, name)
		c, _ := firstContainer(attacked)
		c = withoutFields(c, ephemeralForbidden)
		c["name"] = ephemeralName
		if target, err := firstContainer(old); err == nil {
			c["targetContainerName"] = target["name"]
		}
		pod := DeepCopy(old)
		pod["spec"].(map[string]any)["ephemeralContainers"] = []any{c}
		p.Operation = "UPDATE"
		p.SubResource = "ephemeralcontainers"
		p.OldObject = old
		p.Object = pod
	default:
		return p, probeErr(f.file, line, "family %s: unknown variant %q", f.Name, variant)
	}
	return p, nil
}

func setObjectName(obj map[string]any, name string) {
	md, ok := obj["metadata"].(map[string]any)
	if !ok {
		md = map[string]any{}
		obj["metadata"] = md
	}
	md["name"] = name
}

func withoutFields(c map[string]any, fields []string) map[string]any {
	out := DeepCopy(c)
	for _, k := range fields {
		delete(out, k)
	}
	return out
}

// templateOf turns a Pod into the pod template a controller would stamp it from.
func templateOf(pod map[string]any) map[string]any {
	md := map[string]any{}
	if m, ok := pod["metadata"].(map[string]any); ok {
		for _, k := range []string{"labels", "annotations"} {
			if v, ok := m[k]; ok {
				md[k] = deepCopyValue(v)
			}
		}
	}
	return map[string]any{"metadata": md, "spec": deepCopyValue(pod["spec"])}
}

func podLabels(pod map[string]any) map[string]any {
	if m, ok := pod["metadata"].(map[string]any); ok {
		if l, ok := m["labels"].(map[string]any); ok && len(l) > 0 {
			return DeepCopy(l)
		}
	}
	return nil
}

func deployment(pod map[string]any, name string) map[string]any {
	tmpl := templateOf(pod)
	labels := podLabels(pod)
	if labels == nil {
		labels = map[string]any{"app.kubernetes.io/name": name}
		tmpl["metadata"].(map[string]any)["labels"] = deepCopyValue(labels)
	}
	return map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   map[string]any{"name": name, "labels": deepCopyValue(labels)},
		"spec": map[string]any{
			"replicas": int64(1),
			"selector": map[string]any{"matchLabels": labels},
			"template": tmpl,
		},
	}
}

func cronJob(pod map[string]any, name string) map[string]any {
	tmpl := templateOf(pod)
	// Job pods may not restart Always.
	tmpl["spec"].(map[string]any)["restartPolicy"] = "OnFailure"
	md := map[string]any{"name": name}
	if l := podLabels(pod); l != nil {
		md["labels"] = l
	}
	return map[string]any{
		"apiVersion": "batch/v1",
		"kind":       "CronJob",
		"metadata":   md,
		"spec": map[string]any{
			"schedule": "*/10 * * * *",
			"jobTemplate": map[string]any{
				"spec": map[string]any{
					"backoffLimit": int64(0),
					"template":     tmpl,
				},
			},
		},
	}
}

// mergePatch applies an RFC 7386 JSON merge patch: objects merge recursively, null deletes,
// anything else (lists included) replaces.
func mergePatch(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return deepCopyValue(patch)
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
			continue
		}
		tm[k] = mergePatch(tm[k], v)
	}
	return tm
}

// probeScheme knows the built-in kinds probes are made of, so a typo in a probe (a field the
// API does not have) fails at load, naming the file, instead of making a probe no policy
// recognises. Kinds it does not know (custom resources) are taken as written.
// It is built on first use, so runs that load no probe files do not pay for the registration.
var probeScheme = sync.OnceValue(func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, rbacv1.AddToScheme,
		certificatesv1.AddToScheme, networkingv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err) // static registration of k8s.io/api types; cannot fail on input
		}
	}
	return s
})

func checkKnownKind(p Probe) error {
	for _, obj := range []map[string]any{p.Object, p.OldObject} {
		if obj == nil {
			continue
		}
		apiVersion, _ := obj["apiVersion"].(string)
		kind, _ := obj["kind"].(string)
		gv, err := schema.ParseGroupVersion(apiVersion)
		if err != nil {
			return probeErr(p.File, p.Line, "probe %s: apiVersion %q: %v", p.Name, apiVersion, err)
		}
		typed, err := probeScheme().New(gv.WithKind(kind))
		if err != nil {
			continue
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, typed, true); err != nil {
			return probeErr(p.File, p.Line, "probe %s: not a valid %s: %v (fix the manifest or the attack patch)", p.Name, kind, err)
		}
	}
	return nil
}
