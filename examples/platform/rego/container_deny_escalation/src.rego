# METADATA
# title: Containers must not allow privilege escalation
# description: >-
#   Without allowPrivilegeEscalation false, a setuid binary raises a process back to root.
#   Checked in CI only so far: the Gatekeeper template is still in review.
# custom:
#   policyID: P2004
#   enforcement: deny
#   matchers:
#     kinds:
#     - apiGroups: [""]
#       kinds: [Pod]
#     - apiGroups: [apps]
#       kinds: [DaemonSet, Deployment, StatefulSet]
#     - apiGroups: [batch]
#       kinds: [CronJob, Job]
package container_deny_escalation

import data.lib.core
import data.lib.pods

policyID := "P2004"

violation contains msg if {
	some container in pods.all_containers
	not container.securityContext.allowPrivilegeEscalation == false
	msg := core.format_with_id(
		sprintf("%s/%s: container %s must set allowPrivilegeEscalation to false", [core.kind, core.name, container.name]),
		policyID,
	)
}
