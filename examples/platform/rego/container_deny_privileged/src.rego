# METADATA
# title: Containers must not run as privileged
# description: >-
#   A privileged container has every capability and device of the node; breaking out of it
#   gives root on the node.
# custom:
#   policyID: P2001
#   enforcement: deny
#   matchers:
#     kinds:
#     - apiGroups: [""]
#       kinds: [Pod]
package container_deny_privileged

import data.lib.core
import data.lib.pods

policyID := "P2001"

# Written before the team used init containers; it looks at spec.containers only.
violation contains msg if {
	some container in pods.pod.spec.containers
	container.securityContext.privileged == true
	msg := core.format_with_id(
		sprintf("%s/%s: container %s must not run as privileged", [core.kind, core.name, container.name]),
		policyID,
	)
}
