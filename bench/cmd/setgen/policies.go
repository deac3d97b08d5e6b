package main

import (
	"fmt"
	"strings"
)

// regoLib is the library every generated policy imports: the object under review wherever
// the policy runs (conftest's input, Gatekeeper's input.review.object), its pod spec and
// containers.
const regoLib = `# METADATA
# description: >-
#   Shared by the generated policies: the object under review, its pod spec (a Pod's, or a
#   workload's pod template) and its containers.
package setgen_lib

object := input.review.object if input.review.object

object := input if not input.review

template_kinds := {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"}

pod_spec := object.spec if object.kind == "Pod"

pod_spec := object.spec.template.spec if object.kind in template_kinds

pod_spec := object.spec.jobTemplate.spec.template.spec if object.kind == "CronJob"

# app_containers are the regular containers; containers adds init and ephemeral ones.
app_containers contains c if some c in pod_spec.containers

containers contains c if some c in pod_spec.containers

containers contains c if some c in pod_spec.initContainers

containers contains c if some c in pod_spec.ephemeralContainers

denial(id, msg) := {
	"msg": sprintf("%s: %s/%s: %s", [id, object.kind, object.metadata.name, msg]),
	"details": {"policyID": id},
}
`

var capabilities = []string{"SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "NET_RAW", "SYS_MODULE", "DAC_OVERRIDE", "SYS_TIME", "BPF"}

var hostFields = []string{"hostPID", "hostIPC", "hostNetwork"}

// policyKinds are the checks, each a function of the parameter k (the policy's index divided
// by the number of kinds) returning the package's base name, title and rules.
var policyKinds = []func(k int) (name, title, rules string){
	func(k int) (string, string, string) {
		f := hostFields[k%len(hostFields)]
		return "pod_deny_" + strings.ToLower(f), "Pods must not set " + f, fmt.Sprintf(`violation contains msg if {
	lib.pod_spec.%[1]s == true
	msg := lib.denial(policyID, "%[1]s is not allowed")
}
`, f)
	},
	func(k int) (string, string, string) {
		set := []string{"containers", "app_containers"}[k%2]
		return "container_deny_privileged", "Containers must not run privileged", fmt.Sprintf(`violation contains msg if {
	some c in lib.%s
	c.securityContext.privileged == true
	msg := lib.denial(policyID, sprintf("container %%s must not run privileged", [c.name]))
}
`, set)
	},
	func(k int) (string, string, string) {
		var caps []string
		for i := range 3 {
			caps = append(caps, fmt.Sprintf("%q", capabilities[(k+i*3)%len(capabilities)]))
		}
		return "container_deny_caps", "Containers must not add dangerous capabilities", fmt.Sprintf(`denied_caps := {%s}

violation contains msg if {
	some c in lib.containers
	some cap in c.securityContext.capabilities.add
	upper(trim_prefix(cap, "CAP_")) in denied_caps
	msg := lib.denial(policyID, sprintf("container %%s adds capability %%s", [c.name, cap]))
}
`, strings.Join(caps, ", "))
	},
	func(k int) (string, string, string) {
		return "container_allowed_repos", "Images must come from an allowed registry", fmt.Sprintf(`repos := ["registry.example/", "mirror-%d.example/"]

violation contains msg if {
	some c in lib.containers
	not strings.any_prefix_match(c.image, repos)
	msg := lib.denial(policyID, sprintf("container %%s uses image %%s from outside %%v", [c.name, c.image, repos]))
}
`, k)
	},
	func(k int) (string, string, string) {
		return "pod_deny_host_path", "Pods may mount host paths only under the app log folder", fmt.Sprintf(`allowed_prefix := "/var/log/app-%d/"

violation contains msg if {
	some v in lib.pod_spec.volumes
	v.hostPath
	not startswith(v.hostPath.path, allowed_prefix)
	msg := lib.denial(policyID, sprintf("volume %%s mounts host path %%s", [v.name, v.hostPath.path]))
}
`, k)
	},
	func(k int) (string, string, string) {
		return "container_deny_run_as_root", "Containers must not run as root", `violation contains msg if {
	some c in lib.containers
	c.securityContext.runAsUser == 0
	msg := lib.denial(policyID, sprintf("container %s runs as UID 0", [c.name]))
}

violation contains msg if {
	some c in lib.containers
	c.securityContext.runAsNonRoot == false
	msg := lib.denial(policyID, sprintf("container %s allows running as root", [c.name]))
}
`
	},
	func(k int) (string, string, string) {
		res := []string{"cpu", "memory"}[k%2]
		return "container_require_" + res + "_limit", "Containers must set a " + res + " limit", fmt.Sprintf(`violation contains msg if {
	some c in lib.app_containers
	not c.resources.limits[%q]
	msg := lib.denial(policyID, sprintf("container %%s has no %s limit", [c.name]))
}
`, res, res)
	},
	func(k int) (string, string, string) {
		return "container_deny_escalation", "Containers must not allow privilege escalation", `violation contains msg if {
	some c in lib.containers
	c.securityContext.allowPrivilegeEscalation == true
	msg := lib.denial(policyID, sprintf("container %s allows privilege escalation", [c.name]))
}
`
	},
	func(k int) (string, string, string) {
		return "container_deny_secret_env", "Secrets must not be passed as environment variables", fmt.Sprintf(`public_prefix := "public-%d-"

violation contains msg if {
	some c in lib.containers
	some e in c.env
	ref := e.valueFrom.secretKeyRef
	not startswith(ref.name, public_prefix)
	msg := lib.denial(policyID, sprintf("container %%s reads Secret %%s into %%s", [c.name, ref.name, e.name]))
}

violation contains msg if {
	some c in lib.containers
	some e in c.envFrom
	e.secretRef
	msg := lib.denial(policyID, sprintf("container %%s loads Secret %%s into its environment", [c.name, e.secretRef.name]))
}
`, k)
	},
	func(k int) (string, string, string) {
		return "pod_deny_unconfined_seccomp", "Pods and containers must not run without seccomp", `violation contains msg if {
	lib.pod_spec.securityContext.seccompProfile.type == "Unconfined"
	msg := lib.denial(policyID, "the pod's seccomp profile is Unconfined")
}

violation contains msg if {
	some c in lib.containers
	c.securityContext.seccompProfile.type == "Unconfined"
	msg := lib.denial(policyID, sprintf("container %s has seccomp profile Unconfined", [c.name]))
}
`
	},
	func(k int) (string, string, string) {
		lo := 30000 + 100*(k%20)
		return "container_host_port_range", "Host ports must be in the platform's range", fmt.Sprintf(`allowed_port(n) if {
	n >= %d
	n < %d
}

violation contains msg if {
	some c in lib.containers
	some p in c.ports
	p.hostPort
	not allowed_port(p.hostPort)
	msg := lib.denial(policyID, sprintf("container %%s uses host port %%d", [c.name, p.hostPort]))
}
`, lo, lo+100)
	},
	func(k int) (string, string, string) {
		if k%2 == 0 {
			return "container_require_digest", "Images must be pinned by digest", `violation contains msg if {
	some c in lib.containers
	not contains(c.image, "@sha256:")
	msg := lib.denial(policyID, sprintf("container %s image %s is not pinned by digest", [c.name, c.image]))
}
`
		}
		return "container_deny_latest_tag", "Images must not use the latest tag", `violation contains msg if {
	some c in lib.containers
	endswith(c.image, ":latest")
	msg := lib.denial(policyID, sprintf("container %s uses the latest tag", [c.name]))
}

violation contains msg if {
	some c in lib.containers
	not contains(c.image, "@")
	parts := split(c.image, "/")
	not contains(parts[count(parts) - 1], ":")
	msg := lib.denial(policyID, sprintf("container %s has no tag", [c.name]))
}
`
	},
}

// policy returns the package name and source of the i-th generated policy. Every seventh is
// a dry run (monitoring), as teams roll policies out.
func policy(i int) (pkg, src string) {
	base, title, rules := policyKinds[i%len(policyKinds)](i / len(policyKinds))
	pkg = fmt.Sprintf("%s_g%04d", base, i)
	id := fmt.Sprintf("G%04d", i)
	enforcement := "deny"
	if i%7 == 6 {
		enforcement = "dryrun"
	}
	src = fmt.Sprintf(`# METADATA
# title: %s (generated %d)
# description: >-
#   Generated by bench/cmd/setgen for the policy scale series.
# custom:
#   policyID: %s
#   enforcement: %s
#   matchers:
#     kinds:
#     - apiGroups: [""]
#       kinds: [Pod]
#     - apiGroups: [apps]
#       kinds: [DaemonSet, Deployment, StatefulSet]
#     - apiGroups: [batch]
#       kinds: [CronJob, Job]
package %s

import data.setgen_lib as lib

policyID := %q

%s`, title, i, id, enforcement, pkg, id, rules)
	return pkg, src
}
