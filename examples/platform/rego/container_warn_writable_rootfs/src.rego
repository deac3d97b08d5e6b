# METADATA
# title: Containers should use a read-only root filesystem
# description: >-
#   A writable root filesystem lets an intruder drop tools into the container. A warning in
#   CI: several legacy services still write to their image.
# custom:
#   policyID: P2007
#   enforcement: warn
#   matchers:
#     kinds:
#     - apiGroups: [""]
#       kinds: [Pod]
#     - apiGroups: [apps]
#       kinds: [DaemonSet, Deployment, StatefulSet]
#     - apiGroups: [batch]
#       kinds: [CronJob, Job]
package container_warn_writable_rootfs

import data.lib.core
import data.lib.pods

policyID := "P2007"

warn contains msg if {
	some container in pods.containers
	not container.securityContext.readOnlyRootFilesystem == true
	msg := core.format_with_id(
		sprintf("%s/%s: container %s should set readOnlyRootFilesystem to true", [core.kind, core.name, container.name]),
		policyID,
	)
}
