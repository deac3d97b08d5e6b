package remedies

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Engine is the policy engine a remedy is written for.
type Engine string

const (
	EngineVAP        Engine = "vap"        // ValidatingAdmissionPolicy and its binding
	EngineGatekeeper Engine = "gatekeeper" // ConstraintTemplate (K8sNativeValidation) and its Constraint
)

// Mode is how the written policy acts on what it finds: the rollout stage.
type Mode string

const (
	ModeDeny   Mode = "deny"   // rejects the request
	ModeWarn   Mode = "warn"   // admits it with a warning to the client
	ModeDryRun Mode = "dryrun" // admits it and records it (audit annotations, Gatekeeper audit)
)

// Engines and Modes are the accepted values, in the order the CLI lists them.
var (
	Engines = []string{string(EngineVAP), string(EngineGatekeeper)}
	Modes   = []string{string(ModeDeny), string(ModeWarn), string(ModeDryRun)}
)

// Options say how remedies are written.
type Options struct {
	Engine Engine // empty: EngineVAP
	Mode   Mode   // empty: ModeDeny
	// AllowedRegistries are the image reference prefixes the allowed-registries remedy
	// admits (e.g. "registry.example/"); without them that remedy cannot be written.
	AllowedRegistries []string
}

func (o Options) engine() Engine {
	if o.Engine == "" {
		return EngineVAP
	}
	return o.Engine
}

func (o Options) mode() Mode {
	if o.Mode == "" {
		return ModeDeny
	}
	return o.Mode
}

// Validate checks the options before any work.
func (o Options) Validate() error {
	switch o.engine() {
	case EngineVAP, EngineGatekeeper:
	default:
		return fmt.Errorf("--engine %q: use %s", o.Engine, strings.Join(Engines, " or "))
	}
	switch o.mode() {
	case ModeDeny, ModeWarn, ModeDryRun:
	default:
		return fmt.Errorf("--mode %q: use %s", o.Mode, strings.Join(Modes, ", "))
	}
	for _, r := range o.AllowedRegistries {
		if r == "" || strings.ContainsAny(r, "'\"\\ ") {
			return fmt.Errorf("--allowed-registry %q: give an image reference prefix such as registry.example/ (no quotes or spaces)", r)
		}
	}
	return nil
}

// Writable reports whether the remedy can be written with these options, and if not why.
func (o Options) Writable(r *Remedy) (bool, string) {
	if r.Needs == NeedsAllowedRegistries && len(o.AllowedRegistries) == 0 {
		return false, "give the registries your images come from with --allowed-registry PREFIX (e.g. registry.example/)"
	}
	return true, ""
}

// target is how a Target is written: the VAP's resource rules and the Gatekeeper kinds, per
// API group.
type target []struct {
	group, version string
	operations     []string
	resources      []string
	kinds          []string
}

func (t target) rules() *yaml.Node {
	out := seq()
	for _, g := range t {
		out.Content = append(out.Content, mapping("apiGroups", flow(g.group), "apiVersions", flow(g.version),
			"operations", flow(g.operations...), "resources", flow(g.resources...)))
	}
	return out
}

func (t target) kinds() *yaml.Node {
	out := seq()
	for _, g := range t {
		out.Content = append(out.Content, mapping("apiGroups", flow(g.group), "kinds", flow(g.kinds...)))
	}
	return out
}

var (
	createUpdate = []string{"CREATE", "UPDATE"}
	targets      = map[Target]target{
		TargetWorkloads: {
			{"", "v1", createUpdate, []string{"pods", "pods/ephemeralcontainers", "replicationcontrollers"}, []string{"Pod", "ReplicationController"}},
			{"apps", "v1", createUpdate, []string{"deployments", "replicasets", "statefulsets", "daemonsets"}, []string{"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}},
			{"batch", "v1", createUpdate, []string{"jobs", "cronjobs"}, []string{"Job", "CronJob"}},
		},
		TargetBindings: {{"rbac.authorization.k8s.io", "v1", createUpdate, []string{"rolebindings", "clusterrolebindings"}, []string{"RoleBinding", "ClusterRoleBinding"}}},
		TargetRoles:    {{"rbac.authorization.k8s.io", "v1", createUpdate, []string{"roles", "clusterroles"}, []string{"Role", "ClusterRole"}}},
		TargetCSRs:     {{"certificates.k8s.io", "v1", []string{"CREATE"}, []string{"certificatesigningrequests"}, []string{"CertificateSigningRequest"}}},
	}
)

// workloadVariables come first in every workloads remedy: the pod spec whatever the kind
// (a Pod, a CronJob's job template, any other kind's pod template), and every container of
// it, init and ephemeral ones included.
var workloadVariables = []Variable{
	{Name: "spec", Expression: "object.kind == 'Pod' ? object.spec : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec"},
	{Name: "containers", Expression: "variables.spec.containers + (has(variables.spec.initContainers) ? variables.spec.initContainers : []) + (has(variables.spec.ephemeralContainers) ? variables.spec.ephemeralContainers : [])"},
}

// specChanged is the match condition of every workloads remedy: an update is judged only when
// it changes the spec. Metadata-only updates of an object admitted before the policy (labels,
// finalizers, owner references, which deleting it needs) pass; an update that changes a Pod's
// image or tolerations, adds an ephemeral container or changes a pod template is judged whole.
const specChanged = "request.operation != 'UPDATE' || object.spec != oldObject.spec"

// matchConditions are the remedy's match conditions, in the form of the engine's field.
func (r *Remedy) matchConditions() *yaml.Node {
	if r.Target != TargetWorkloads {
		return nil
	}
	return seq(mapping("name", "spec-changed", "expression", specChanged))
}

// variables are the remedy's variables after the ones its target and its needs declare.
func (r *Remedy) variables(o Options) *yaml.Node {
	var vs []Variable
	if r.Target == TargetWorkloads {
		vs = append(vs, workloadVariables...)
	}
	if r.Needs == NeedsAllowedRegistries {
		quoted := make([]string, len(o.AllowedRegistries))
		for i, p := range o.AllowedRegistries {
			quoted[i] = strconv.Quote(p)
		}
		vs = append(vs, Variable{Name: "allowedRegistries", Expression: "[" + strings.Join(quoted, ", ") + "]"})
	}
	vs = append(vs, r.Variables...)
	out := seq()
	for _, v := range vs {
		out.Content = append(out.Content, mapping("name", v.Name, "expression", cel(v.Expression)))
	}
	return out
}

func (r *Remedy) validations() *yaml.Node {
	out := seq()
	for _, v := range r.Validations {
		out.Content = append(out.Content, mapping("expression", cel(v.Expression), "message", v.Message))
	}
	return out
}

// Labels mark every object fix writes, so a cluster's copies can be found and removed.
const LabelRemedy = "threatcov.dev/remedy"

func (r *Remedy) metadata(name string) *yaml.Node {
	return mapping("name", name, "labels", mapping(LabelRemedy, r.Name))
}

// FileName is the name Render's output is written under.
func (r *Remedy) FileName(o Options) string {
	return fmt.Sprintf("%s-%s.yaml", o.engine(), r.Name)
}

// Render writes the remedy for the engine and mode of o: a VAP and its binding, or a
// Gatekeeper ConstraintTemplate and its Constraint, as one multi-document YAML file with a
// header saying what it denies. The output is deterministic.
func (r *Remedy) Render(o Options) ([]byte, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if ok, why := o.Writable(r); !ok {
		return nil, fmt.Errorf("remedy %s: %s", r.Name, why)
	}
	var docs []*yaml.Node
	t := targets[r.Target]
	switch o.engine() {
	case EngineVAP:
		docs = []*yaml.Node{
			mapping("apiVersion", "admissionregistration.k8s.io/v1", "kind", "ValidatingAdmissionPolicy",
				"metadata", r.metadata(r.PolicyName()),
				"spec", mapping("failurePolicy", "Fail", "matchConstraints", mapping("resourceRules", t.rules()),
					"matchConditions", r.matchConditions(), "variables", r.variables(o), "validations", r.validations())),
			mapping("apiVersion", "admissionregistration.k8s.io/v1", "kind", "ValidatingAdmissionPolicyBinding",
				"metadata", r.metadata(r.PolicyName()),
				"spec", mapping("policyName", r.PolicyName(), "validationActions", flow(vapAction[o.mode()]))),
		}
	case EngineGatekeeper:
		docs = []*yaml.Node{
			mapping("apiVersion", "templates.gatekeeper.sh/v1", "kind", "ConstraintTemplate",
				"metadata", r.metadata(strings.ToLower(r.Kind())),
				"spec", mapping(
					"crd", mapping("spec", mapping("names", mapping("kind", r.Kind()))),
					"targets", seq(mapping("target", "admission.k8s.gatekeeper.sh",
						"code", seq(mapping("engine", "K8sNativeValidation",
							// Gatekeeper spells the field matchCondition
							// (pkg/drivers/k8scel/schema).
							"source", mapping("failurePolicy", "Fail", "matchCondition", r.matchConditions(),
								"variables", r.variables(o), "validations", r.validations()))))))),
			mapping("apiVersion", "constraints.gatekeeper.sh/v1beta1", "kind", r.Kind(),
				"metadata", r.metadata(r.PolicyName()),
				"spec", mapping("enforcementAction", string(o.mode()), "match", mapping("kinds", t.kinds()))),
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s: threatcov reference policy %s (%s, %s).\n", r.Title, r.Name, o.engine(), o.mode())
	fmt.Fprintf(&b, "# Denies every probe of: %s.\n", strings.Join(r.Families, ", "))
	for _, line := range wrap("May also deny: "+r.Cost, 96) {
		fmt.Fprintf(&b, "# %s\n", line)
	}
	if o.engine() == EngineGatekeeper {
		b.WriteString("# Apply the ConstraintTemplate first: the Constraint's kind exists once Gatekeeper has read it.\n")
	}
	for _, d := range docs {
		b.WriteString("---\n")
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(d); err != nil {
			return nil, err
		}
		if err := enc.Close(); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

var vapAction = map[Mode]string{ModeDeny: "Deny", ModeWarn: "Warn", ModeDryRun: "Audit"}

// wrap splits text into lines of at most width characters at spaces.
func wrap(text string, width int) []string { return wrapWords(strings.Fields(text), width) }

// wrapWords joins words into lines of at most width characters (a longer word has its own).
func wrapWords(words []string, width int) []string {
	var lines []string
	line := ""
	for _, w := range words {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// mapping is a YAML mapping of the key-value pairs in order; a value is a string or a node,
// and a nil node leaves its key out.
func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i < len(kv); i += 2 {
		if v, ok := kv[i+1].(*yaml.Node); ok && v == nil {
			continue
		}
		n.Content = append(n.Content, scalar(kv[i].(string)), node(kv[i+1]))
	}
	return n
}

func node(v any) *yaml.Node {
	if n, ok := v.(*yaml.Node); ok {
		return n
	}
	return scalar(v.(string))
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func seq(items ...*yaml.Node) *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Content: items} }

// flow is a one-line list of strings: [CREATE, UPDATE].
func flow(items ...string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, it := range items {
		n.Content = append(n.Content, scalar(it))
	}
	return n
}

// cel is a CEL expression as a literal block, wrapped at celWidth at spaces outside string
// literals so it reads in review: CEL takes a line break as a space.
func cel(expr string) *yaml.Node {
	var words []string
	word, quote := "", rune(0)
	for _, c := range expr {
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case quote == 0 && c == ' ':
			if word != "" {
				words = append(words, word)
			}
			word = ""
			continue
		}
		word += string(c)
	}
	lines := wrapWords(append(words, word), celWidth)
	if len(lines) == 1 {
		return scalar(expr)
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Style: yaml.LiteralStyle, Value: strings.Join(lines, "\n")}
}

const celWidth = 88
