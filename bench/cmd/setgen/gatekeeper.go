package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// gkLib is the library the lib-style templates carry in targets[].libs, as konstraint embeds
// its libraries in every template it generates: the object under review, its pod spec and
// containers. Each template is compiled alone, so every copy is compiled again.
const gkLib = `package lib.setgen

template_kinds := {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"}

resource := input.review.object

pod_spec := resource.spec if resource.kind == "Pod"

pod_spec := resource.spec.template.spec if resource.kind in template_kinds

pod_spec := resource.spec.jobTemplate.spec.template.spec if resource.kind == "CronJob"

app_containers contains c if some c in pod_spec.containers

containers contains c if some c in pod_spec.containers

containers contains c if some c in pod_spec.initContainers

containers contains c if some c in pod_spec.ephemeralContainers

violation_msg(msg) := sprintf("%s/%s: %s", [resource.kind, resource.metadata.name, msg])
`

// gkInline are the helpers of the gatekeeper-library-style templates, in Rego v0: they read a
// Pod only and rely on the constraint matching Pods, so workloads are judged as the Pod their
// controller would create.
const gkInline = `input_containers[c] {
  c := input.review.object.spec.containers[_]
}

input_containers[c] {
  c := input.review.object.spec.initContainers[_]
}

input_containers[c] {
  c := input.review.object.spec.ephemeralContainers[_]
}
`

// gkKind is one kind of template check. lib templates import data.lib.setgen (in Rego v1) and
// their constraints match Pods and workloads; the others are gatekeeper-library style (Rego
// v0, inline helpers) and their constraints match Pods only.
type gkKind struct {
	base, title string
	lib         bool
	schema      string                // properties of the parameters' openAPIV3Schema, indented 14 spaces
	rego        string                // the rules after the package line (%[1]s: the template index)
	params      func(k, c int) string // constraint c's spec.parameters, indented 4 spaces
}

var gkKinds = []gkKind{
	{base: "HostNamespace", title: "Pods must not share the node's namespaces", schema: `fields:
  type: array
  items:
    type: string
`, rego: `import future.keywords.in

violation[{"msg": msg, "details": {"field": f}}] {
  some f in input.parameters.fields
  input.review.object.spec[f] == true
  msg := sprintf("Sharing the host namespace is not allowed (%v): %v", [f, input.review.object.metadata.name])
}
`, params: func(k, c int) string {
		fields := []string{"hostPID", "hostIPC", "hostNetwork"}
		n := 2 + (k+c)%2
		return "    fields: [" + strings.Join(fields[:n], ", ") + "]\n"
	}},
	{base: "Privileged", title: "Containers must not run privileged", lib: true, schema: `exemptContainers:
  type: array
  items:
    type: string
`, rego: `import data.lib.setgen

exempt := {n | some n in object.get(input.parameters, "exemptContainers", [])}

violation contains {"msg": msg} if {
  some c in setgen.containers
  c.securityContext.privileged == true
  not c.name in exempt
  msg := setgen.violation_msg(sprintf("container %s must not run privileged", [c.name]))
}
`, params: func(k, c int) string {
		return fmt.Sprintf("    exemptContainers: [debug-%d]\n", k)
	}},
	{base: "Capabilities", title: "Containers must not add dangerous capabilities", lib: true, schema: `disallowedCapabilities:
  type: array
  items:
    type: string
`, rego: `import data.lib.setgen

violation contains {"msg": msg, "details": {"capability": cap}} if {
  some c in setgen.containers
  some cap in c.securityContext.capabilities.add
  upper(trim_prefix(cap, "CAP_")) in {x | some x in input.parameters.disallowedCapabilities}
  msg := setgen.violation_msg(sprintf("container %s adds capability %s", [c.name, cap]))
}
`, params: func(k, c int) string {
		var caps []string
		for i := range 3 + c {
			caps = append(caps, capabilities[(k+i*3)%len(capabilities)])
		}
		return "    disallowedCapabilities: [" + strings.Join(caps, ", ") + "]\n"
	}},
	{base: "AllowedRepos", title: "Images must come from an allowed registry", schema: `repos:
  type: array
  items:
    type: string
`, rego: gkInline + `
violation[{"msg": msg}] {
  container := input_containers[_]
  not strings.any_prefix_match(container.image, input.parameters.repos)
  msg := sprintf("container <%v> has an invalid image repo <%v>, allowed repos are %v", [container.name, container.image, input.parameters.repos])
}
`, params: func(k, c int) string {
		return fmt.Sprintf("    repos: [registry.example/, mirror-%d.example/]\n", (k+c)%9)
	}},
	{base: "HostFilesystem", title: "Pods may mount host paths only under allowed prefixes", schema: `allowedHostPaths:
  type: array
  items:
    type: object
    properties:
      pathPrefix:
        type: string
      readOnly:
        type: boolean
`, rego: `import future.keywords.in

violation[{"msg": msg}] {
  volume := input.review.object.spec.volumes[_]
  volume.hostPath
  not allowed_path(volume.hostPath.path)
  msg := sprintf("HostPath volume %v is not allowed, pod: %v. Allowed path: %v", [volume, input.review.object.metadata.name, input.parameters.allowedHostPaths])
}

allowed_path(path) {
  some allowed in input.parameters.allowedHostPaths
  startswith(path, allowed.pathPrefix)
}
`, params: func(k, c int) string {
		return fmt.Sprintf("    allowedHostPaths:\n      - pathPrefix: /var/log/app-%d/\n        readOnly: true\n", k+c)
	}},
	{base: "RunAsNonRoot", title: "Containers must not run as root", lib: true, schema: `rule:
  type: string
  enum: [MustRunAsNonRoot, RunAsAny]
`, rego: `import data.lib.setgen

violation contains {"msg": msg} if {
  input.parameters.rule == "MustRunAsNonRoot"
  some c in setgen.containers
  root(c)
  msg := setgen.violation_msg(sprintf("container %s may run as root", [c.name]))
}

root(c) if c.securityContext.runAsUser == 0

root(c) if c.securityContext.runAsNonRoot == false
`, params: func(k, c int) string {
		return "    rule: MustRunAsNonRoot\n"
	}},
	{base: "RequiredResources", title: "Containers must set resource limits", lib: true, schema: `limits:
  type: array
  items:
    type: string
    enum: [cpu, memory]
`, rego: `import data.lib.setgen

violation contains {"msg": msg} if {
  some c in setgen.app_containers
  some r in input.parameters.limits
  not c.resources.limits[r]
  msg := setgen.violation_msg(sprintf("container %s has no %s limit", [c.name, r]))
}
`, params: func(k, c int) string {
		return "    limits: [" + []string{"cpu", "memory", "cpu, memory"}[(k+c)%3] + "]\n"
	}},
	{base: "AllowPrivilegeEscalation", title: "Containers must not allow privilege escalation", schema: `exemptImages:
  type: array
  items:
    type: string
`, rego: gkInline + `
violation[{"msg": msg, "details": {}}] {
  c := input_containers[_]
  not exempt(c.image)
  input_allow_privilege_escalation(c)
  msg := sprintf("Privilege escalation container is not allowed: %v", [c.name])
}

input_allow_privilege_escalation(c) {
  not has_field(c, "securityContext")
}

input_allow_privilege_escalation(c) {
  not c.securityContext.allowPrivilegeEscalation == false
}

has_field(object, field) = true {
  object[field]
}

exempt(image) {
  startswith(image, input.parameters.exemptImages[_])
}
`, params: func(k, c int) string {
		return fmt.Sprintf("    exemptImages: [registry.example/platform/app-%d]\n", k)
	}},
	{base: "SecretEnv", title: "Secrets must not be passed as environment variables", lib: true, schema: `publicPrefix:
  type: string
`, rego: `import data.lib.setgen

violation contains {"msg": msg} if {
  some c in setgen.containers
  some e in c.env
  ref := e.valueFrom.secretKeyRef
  not startswith(ref.name, input.parameters.publicPrefix)
  msg := setgen.violation_msg(sprintf("container %s reads Secret %s into %s", [c.name, ref.name, e.name]))
}

violation contains {"msg": msg} if {
  some c in setgen.containers
  some e in c.envFrom
  e.secretRef
  msg := setgen.violation_msg(sprintf("container %s loads Secret %s", [c.name, e.secretRef.name]))
}
`, params: func(k, c int) string {
		return fmt.Sprintf("    publicPrefix: public-%d-\n", k)
	}},
	{base: "Seccomp", title: "Pods and containers must run with an allowed seccomp profile", lib: true, schema: `allowedProfiles:
  type: array
  items:
    type: string
`, rego: `import data.lib.setgen

allowed := {p | some p in input.parameters.allowedProfiles}

violation contains {"msg": msg} if {
  p := setgen.pod_spec.securityContext.seccompProfile.type
  not p in allowed
  msg := setgen.violation_msg(sprintf("the pod's seccomp profile %s is not allowed", [p]))
}

violation contains {"msg": msg} if {
  some c in setgen.containers
  p := c.securityContext.seccompProfile.type
  not p in allowed
  msg := setgen.violation_msg(sprintf("container %s has seccomp profile %s", [c.name, p]))
}
`, params: func(k, c int) string {
		return "    allowedProfiles: [" + []string{"RuntimeDefault", "RuntimeDefault, Localhost"}[(k+c)%2] + "]\n"
	}},
	{base: "HostNetworkPorts", title: "Host ports must be in the platform's range", schema: `min:
  type: integer
max:
  type: integer
`, rego: gkInline + `
violation[{"msg": msg, "details": {}}] {
  c := input_containers[_]
  p := c.ports[_]
  p.hostPort
  not in_range(p.hostPort)
  msg := sprintf("The specified hostPort %v of container %v is not allowed", [p.hostPort, c.name])
}

in_range(n) {
  n >= input.parameters.min
  n <= input.parameters.max
}
`, params: func(k, c int) string {
		lo := 30000 + 100*((k+c)%20)
		return fmt.Sprintf("    min: %d\n    max: %d\n", lo, lo+99)
	}},
	{base: "DisallowedTags", title: "Images must not use disallowed tags", schema: `tags:
  type: array
  items:
    type: string
exemptImages:
  type: array
  items:
    type: string
`, rego: gkInline + `
violation[{"msg": msg}] {
  c := input_containers[_]
  not exempt(c.image)
  tags := [tag_with_prefix | tag := input.parameters.tags[_]; tag_with_prefix := concat(":", ["", tag])]
  strings.any_suffix_match(c.image, tags)
  msg := sprintf("container <%v> uses a disallowed tag <%v>; disallowed tags are %v", [c.name, c.image, input.parameters.tags])
}

violation[{"msg": msg}] {
  c := input_containers[_]
  not exempt(c.image)
  tag := [contains(c.image, ":"), contains(c.image, "@")]
  not any(tag)
  msg := sprintf("container <%v> has no tag <%v>", [c.name, c.image])
}

exempt(image) {
  input.parameters.exemptImages[_] == image
}
`, params: func(k, c int) string {
		return fmt.Sprintf("    tags: [latest, dev-%d]\n    exemptImages: [registry.example/tools/debug:%d]\n", k, k)
	}},
}

const (
	podOnlyMatch = `    kinds:
      - apiGroups: [""]
        kinds: [Pod]
`
	workloadMatch = `    kinds:
      - apiGroups: [""]
        kinds: [Pod]
      - apiGroups: [apps]
        kinds: [DaemonSet, Deployment, ReplicaSet, StatefulSet]
      - apiGroups: [batch]
        kinds: [CronJob, Job]
`
)

// gkTemplate is one generated ConstraintTemplate and its constraints.
type gkTemplate struct {
	kind, name  string   // CRD kind and metadata.name
	file        string   // base file name
	constraints []string // constraint names
	template    string   // ConstraintTemplate YAML
	constraint  string   // constraints YAML (one or more documents)
}

// refs are the mapping's references to the template's constraints: the kind when it has one
// constraint, each constraint by name when it has more.
func (t gkTemplate) refs() []string {
	if len(t.constraints) == 1 {
		return []string{"gatekeeper:" + t.kind}
	}
	var out []string
	for _, c := range t.constraints {
		out = append(out, "gatekeeper:"+t.kind+"/"+c)
	}
	return out
}

func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if strings.TrimSpace(l) != "" {
			b.WriteString(pad)
		}
		b.WriteString(l)
	}
	return b.String()
}

// gatekeeperTemplate returns the i-th generated template. Every third template has a second
// constraint, in warn mode and limited to the namespaces under test or excluding
// kube-system; every seventh template's first constraint is a dry run.
func gatekeeperTemplate(i int) gkTemplate {
	kd := gkKinds[i%len(gkKinds)]
	k := i / len(gkKinds)
	t := gkTemplate{kind: fmt.Sprintf("Setgen%sT%04d", kd.base, i)}
	t.name = strings.ToLower(t.kind)
	t.file = t.name
	pkg := fmt.Sprintf("setgen_%s_t%04d", strings.ToLower(kd.base), i)
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by bench/cmd/setgen for the template scale series.\n")
	fmt.Fprintf(&b, "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: %s\n", t.name)
	fmt.Fprintf(&b, "  annotations:\n    metadata.gatekeeper.sh/title: %s (generated %d)\n    description: Generated by bench/cmd/setgen.\n", kd.title, i)
	fmt.Fprintf(&b, "spec:\n  crd:\n    spec:\n      names:\n        kind: %s\n", t.kind)
	fmt.Fprintf(&b, "      validation:\n        openAPIV3Schema:\n          type: object\n          properties:\n%s", indent(kd.schema, 12))
	b.WriteString("  targets:\n    - target: admission.k8s.gatekeeper.sh\n")
	if kd.lib {
		b.WriteString("      libs:\n        - |\n" + indent(gkLib, 10))
	}
	b.WriteString("      rego: |\n" + indent(fmt.Sprintf("package %s\n\n%s", pkg, kd.rego), 8))
	t.template = b.String()

	n := 1
	if i%3 == 0 {
		n = 2
	}
	b.Reset()
	for c := range n {
		name := fmt.Sprintf("%s-c%d", t.name, c)
		t.constraints = append(t.constraints, name)
		action := ""
		switch {
		case c == 1:
			action = "warn"
		case i%7 == 6:
			action = "dryrun"
		}
		match := podOnlyMatch
		if kd.lib {
			match = workloadMatch
		}
		if c == 1 {
			if i%2 == 0 {
				match += "    namespaces: [apps, \"team-*\"]\n"
			} else {
				match += "    excludedNamespaces: [kube-system, \"*-system\"]\n"
			}
		}
		if c > 0 {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, "# Generated by bench/cmd/setgen for the template scale series.\n")
		fmt.Fprintf(&b, "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: %s\nmetadata:\n  name: %s\nspec:\n", t.kind, name)
		if action != "" {
			fmt.Fprintf(&b, "  enforcementAction: %s\n", action)
		}
		fmt.Fprintf(&b, "  match:\n%s  parameters:\n%s", match, kd.params(k, c))
	}
	t.constraint = b.String()
	return t
}

// generateGatekeeper writes nTmpl templates with their constraints, the probe families and a
// mapping at the admission point; it prints the evaluations per namespace and the number of
// constraints.
func generateGatekeeper(stdout io.Writer, out string, nTmpl, nProbes, groups int, check bool) error {
	set, err := newSet(out, []string{"policies", "probes"}, nTmpl, nProbes, groups)
	if err != nil {
		return err
	}
	units := make([]unit, nTmpl)
	nCons := 0
	for i := range nTmpl {
		t := gatekeeperTemplate(i)
		units[i] = unit{refs: t.refs(), evals: len(t.constraints)}
		nCons += len(t.constraints)
		if err := os.WriteFile(filepath.Join(out, "policies", t.file+"-template.yaml"), []byte(t.template), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, "policies", t.file+"-constraint.yaml"), []byte(t.constraint), 0o644); err != nil {
			return err
		}
	}
	header := fmt.Sprintf("%d ConstraintTemplates with %d constraints, %d probe variants in %d families, %d groups of leaves", nTmpl, nCons, nProbes, len(set.fams), set.groups)
	evals, err := set.write(string(probes.PointAdmission), header, units)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d %d\n", evals, nCons)
	if !check {
		return nil
	}
	inv, err := set.load()
	if err != nil {
		return err
	}
	verifiable := 0
	for _, p := range inv.Policies {
		if p.Engine == policies.EngineGatekeeper && p.Verifiable {
			verifiable++
		} else {
			return fmt.Errorf("policy %s is not a verifiable Gatekeeper constraint: %s", p.ID, strings.Join(p.Notes, "; "))
		}
	}
	if verifiable != nCons {
		return fmt.Errorf("wrote %d verifiable constraints, want %d", verifiable, nCons)
	}
	return nil
}
