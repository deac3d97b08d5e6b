# METADATA
# title: Containers must not add capabilities
# description: >-
#   Capabilities such as SYS_ADMIN, SYS_PTRACE or NET_ADMIN give a container powers over the
#   node or its neighbours. Only NET_BIND_SERVICE may be added.
# custom:
#   policyID: P2003
#   enforcement: deny
#   matchers:
#     kinds:
#     - apiGroups: [""]
#       kinds: [Pod]
#     - apiGroups: [apps]
#       kinds: [DaemonSet, Deployment, StatefulSet]
#     - apiGroups: [batch]
#       kinds: [CronJob, Job]
package container_deny_added_caps

import data.lib.core
import data.lib.pods

policyID := "P2003"

allowed := {"NET_BIND_SERVICE"}

violation contains msg if {
	some container in pods.all_containers
	some cap in container.securityContext.capabilities.add
	not trim_prefix(upper(cap), "CAP_") in allowed
	msg := core.format_with_id(
		sprintf("%s/%s: container %s must not add capability %s", [core.kind, core.name, container.name, cap]),
		policyID,
	)
}
