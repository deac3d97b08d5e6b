package remedies

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed sources/*.yaml
var sources embed.FS

// Target says which requests a remedy applies to; each is a fixed set of resource rules (the
// VAP) and kinds (the Gatekeeper constraint).
type Target string

const (
	// TargetWorkloads: Pods (create, update, the ephemeralcontainers subresource) and every
	// built-in kind with a pod template. Remedies of this target see the variables spec (the
	// pod spec), meta (the pod's metadata) and containers (containers, init and ephemeral).
	TargetWorkloads Target = "workloads"
	TargetBindings  Target = "bindings" // RoleBindings and ClusterRoleBindings
	TargetRoles     Target = "roles"    // Roles and ClusterRoles
	TargetCSRs      Target = "csrs"     // CertificateSigningRequests
)

// Remedy is one reference policy: the probe families it denies, written as the CEL the API
// server and Gatekeeper run.
type Remedy struct {
	// Name is the file name without .yaml; the VAP is threatcov-NAME, the Gatekeeper kind
	// Threatcov followed by NAME in camel case.
	Name        string `yaml:"-"`
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	// Families are the probe families whose every probe it denies (tests hold it to this).
	Families []string `yaml:"families"`
	Target   Target   `yaml:"target"`
	// Needs names an input the user must give: "allowedRegistries" (--allowed-registry).
	Needs       string       `yaml:"needs,omitempty"`
	Variables   []Variable   `yaml:"variables,omitempty"`
	Validations []Validation `yaml:"validations"`
	// Cost says what legitimate workloads it may deny, for the docs and fix's output.
	Cost string `yaml:"cost"`
}

// Variable is a named CEL expression (spec.variables of a VAP).
type Variable struct {
	Name       string `yaml:"name"`
	Expression string `yaml:"expression"`
}

// Validation is a CEL expression that must be true, and the message when it is not.
type Validation struct {
	Expression string `yaml:"expression"`
	Message    string `yaml:"message"`
}

// NeedsAllowedRegistries is the Needs of the allowed-registries remedy.
const NeedsAllowedRegistries = "allowedRegistries"

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// All returns every embedded remedy, sorted by name.
func All() ([]*Remedy, error) {
	files, err := fs.Glob(sources, "sources/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*Remedy
	for _, f := range files {
		data, err := sources.ReadFile(f)
		if err != nil {
			return nil, err
		}
		r, err := parse(path.Base(f), data)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func parse(file string, data []byte) (*Remedy, error) {
	r := &Remedy{Name: strings.TrimSuffix(file, ".yaml")}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(r); err != nil {
		return nil, fmt.Errorf("remedies/sources/%s: %w", file, err)
	}
	switch {
	case !nameRE.MatchString(r.Name):
		return nil, fmt.Errorf("remedies/sources/%s: the name must be lower-case words joined by '-'", file)
	case len(r.Families) == 0:
		return nil, fmt.Errorf("remedies/sources/%s: families is empty: name the probe families it denies", file)
	case len(r.Validations) == 0:
		return nil, fmt.Errorf("remedies/sources/%s: validations is empty", file)
	case r.Needs != "" && r.Needs != NeedsAllowedRegistries:
		return nil, fmt.Errorf("remedies/sources/%s: needs %q: only %s is known", file, r.Needs, NeedsAllowedRegistries)
	}
	if _, ok := targets[r.Target]; !ok {
		return nil, fmt.Errorf("remedies/sources/%s: target %q: use workloads, bindings, roles or csrs", file, r.Target)
	}
	return r, nil
}

// PolicyName is the name of the remedy's ValidatingAdmissionPolicy, binding and Constraint.
func (r *Remedy) PolicyName() string { return "threatcov-" + r.Name }

// Kind is the Gatekeeper constraint kind of the remedy, e.g. ThreatcovHostNamespaces.
func (r *Remedy) Kind() string {
	var b strings.Builder
	b.WriteString("Threatcov")
	for _, w := range strings.Split(r.Name, "-") {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// Covers reports whether the remedy denies the probe family.
func (r *Remedy) Covers(family string) bool {
	for _, f := range r.Families {
		if f == family {
			return true
		}
	}
	return false
}
