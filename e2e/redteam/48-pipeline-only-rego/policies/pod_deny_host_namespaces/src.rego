# METADATA
# title: Pods must not share the node's namespaces
# description: hostPID, hostIPC and hostNetwork are not allowed, in Pods and pod templates.
# custom:
#   policyID: K-101
#   enforcement: deny
package pod_deny_host_namespaces

import rego.v1

template_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

pod_spec := input.spec if input.kind == "Pod"

pod_spec := input.spec.template.spec if input.kind in template_kinds

pod_spec := input.spec.jobTemplate.spec.template.spec if input.kind == "CronJob"

violation contains msg if {
	some field in ["hostPID", "hostIPC", "hostNetwork"]
	pod_spec[field] == true
	msg := sprintf("K-101: %s/%s sets %s", [input.kind, input.metadata.name, field])
}
