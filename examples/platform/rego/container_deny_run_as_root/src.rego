# METADATA
# title: Containers must run as a non-root user
# description: >-
#   A container must set runAsNonRoot (itself or through the pod) and must not ask for UID 0.
# custom:
#   policyID: P2005
#   enforcement: deny
#   matchers:
#     kinds:
#     - apiGroups: [""]
#       kinds: [Pod]
#     - apiGroups: [apps]
#       kinds: [DaemonSet, Deployment, StatefulSet]
#     - apiGroups: [batch]
#       kinds: [CronJob, Job]
package container_deny_run_as_root

import data.lib.core
import data.lib.pods

policyID := "P2005"

violation contains msg if {
	some container in pods.all_containers
	not runs_as_non_root(container)
	msg := core.format_with_id(
		sprintf("%s/%s: container %s must run as non-root", [core.kind, core.name, container.name]),
		policyID,
	)
}

violation contains msg if {
	some container in pods.all_containers
	effective(container, "runAsUser") == 0
	msg := core.format_with_id(
		sprintf("%s/%s: container %s must not run as UID 0", [core.kind, core.name, container.name]),
		policyID,
	)
}

runs_as_non_root(container) if effective(container, "runAsNonRoot") == true

# The container's securityContext wins over the pod's.
effective(container, field) := container.securityContext[field]

effective(container, field) := pods.pod.spec.securityContext[field] if {
	not has_key(object.get(container, "securityContext", {}), field)
}

has_key(obj, key) if _ = obj[key]
