package remedies

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
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

// target is how a Target is written: the VAP's resource rules and the Gatekeeper kinds.
type target struct {
	rules []map[string]any
	kinds []map[string]any
}

var (
	createUpdate = []string{"CREATE", "UPDATE"}
	targets      = map[Target]target{
		TargetWorkloads: {
			rules: []map[string]any{
				{"apiGroups": []string{""}, "apiVersions": []string{"v1"}, "operations": createUpdate, "resources": []string{"pods", "pods/ephemeralcontainers", "replicationcontrollers"}},
				{"apiGroups": []string{"apps"}, "apiVersions": []string{"v1"}, "operations": createUpdate, "resources": []string{"deployments", "replicasets", "statefulsets", "daemonsets"}},
				{"apiGroups": []string{"batch"}, "apiVersions": []string{"v1"}, "operations": createUpdate, "resources": []string{"jobs", "cronjobs"}},
			},
			kinds: []map[string]any{
				{"apiGroups": []string{""}, "kinds": []string{"Pod", "ReplicationController"}},
				{"apiGroups": []string{"apps"}, "kinds": []string{"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"}},
				{"apiGroups": []string{"batch"}, "kinds": []string{"Job", "CronJob"}},
			},
		},
		TargetBindings: {
			rules: []map[string]any{{"apiGroups": []string{"rbac.authorization.k8s.io"}, "apiVersions": []string{"v1"}, "operations": createUpdate, "resources": []string{"rolebindings", "clusterrolebindings"}}},
			kinds: []map[string]any{{"apiGroups": []string{"rbac.authorization.k8s.io"}, "kinds": []string{"RoleBinding", "ClusterRoleBinding"}}},
		},
		TargetRoles: {
			rules: []map[string]any{{"apiGroups": []string{"rbac.authorization.k8s.io"}, "apiVersions": []string{"v1"}, "operations": createUpdate, "resources": []string{"roles", "clusterroles"}}},
			kinds: []map[string]any{{"apiGroups": []string{"rbac.authorization.k8s.io"}, "kinds": []string{"Role", "ClusterRole"}}},
		},
		TargetCSRs: {
			rules: []map[string]any{{"apiGroups": []string{"certificates.k8s.io"}, "apiVersions": []string{"v1"}, "operations": []string{"CREATE"}, "resources": []string{"certificatesigningrequests"}}},
			kinds: []map[string]any{{"apiGroups": []string{"certificates.k8s.io"}, "kinds": []string{"CertificateSigningRequest"}}},
		},
	}
)

// workloadVariables come first in every workloads remedy: the pod spec whatever the kind
// (a Pod, a CronJob's job template, any other kind's pod template), and every container of
// it, init and ephemeral ones included.
var workloadVariables = []Variable{
	{Name: "spec", Expression: "object.kind == 'Pod' ? object.spec : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : object.spec.template.spec"},
	{Name: "containers", Expression: "variables.spec.containers + (has(variables.spec.initContainers) ? variables.spec.initContainers : []) + (has(variables.spec.ephemeralContainers) ? variables.spec.ephemeralContainers : [])"},
}

// variables are the remedy's variables after the ones its target and its needs declare.
func (r *Remedy) variables(o Options) []map[string]any {
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
	out := make([]map[string]any, len(vs))
	for i, v := range vs {
		out[i] = map[string]any{"name": v.Name, "expression": v.Expression}
	}
	return out
}

func (r *Remedy) validations() []map[string]any {
	out := make([]map[string]any, len(r.Validations))
	for i, v := range r.Validations {
		out[i] = map[string]any{"expression": v.Expression, "message": v.Message}
	}
	return out
}

// Labels mark every object fix writes, so a cluster's copies can be found and removed.
const (
	LabelRemedy = "threatcov.dev/remedy"
)

func (r *Remedy) metadata(name string) map[string]any {
	return map[string]any{"name": name, "labels": map[string]any{LabelRemedy: r.Name}}
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
	var docs []map[string]any
	t := targets[r.Target]
	switch o.engine() {
	case EngineVAP:
		docs = []map[string]any{{
			"apiVersion": "admissionregistration.k8s.io/v1",
			"kind":       "ValidatingAdmissionPolicy",
			"metadata":   r.metadata(r.PolicyName()),
			"spec": map[string]any{
				"failurePolicy":    "Fail",
				"matchConstraints": map[string]any{"resourceRules": t.rules},
				"variables":        r.variables(o),
				"validations":      r.validations(),
			},
		}, {
			"apiVersion": "admissionregistration.k8s.io/v1",
			"kind":       "ValidatingAdmissionPolicyBinding",
			"metadata":   r.metadata(r.PolicyName()),
			"spec": map[string]any{
				"policyName":        r.PolicyName(),
				"validationActions": []string{vapAction[o.mode()]},
			},
		}}
	case EngineGatekeeper:
		docs = []map[string]any{{
			"apiVersion": "templates.gatekeeper.sh/v1",
			"kind":       "ConstraintTemplate",
			"metadata":   r.metadata(strings.ToLower(r.Kind())),
			"spec": map[string]any{
				"crd": map[string]any{"spec": map[string]any{"names": map[string]any{"kind": r.Kind()}}},
				"targets": []map[string]any{{
					"target": "admission.k8s.gatekeeper.sh",
					"code": []map[string]any{{
						"engine": "K8sNativeValidation",
						"source": map[string]any{
							"failurePolicy": "Fail",
							"variables":     r.variables(o),
							"validations":   r.validations(),
						},
					}},
				}},
			},
		}, {
			"apiVersion": "constraints.gatekeeper.sh/v1beta1",
			"kind":       r.Kind(),
			"metadata":   r.metadata(r.PolicyName()),
			"spec": map[string]any{
				"enforcementAction": string(o.mode()),
				"match":             map[string]any{"kinds": t.kinds},
			},
		}}
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
		data, err := yaml.Marshal(d)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(data)
	}
	return b.Bytes(), nil
}

var vapAction = map[Mode]string{ModeDeny: "Deny", ModeWarn: "Warn", ModeDryRun: "Audit"}

// wrap splits text into lines of at most width characters at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
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
