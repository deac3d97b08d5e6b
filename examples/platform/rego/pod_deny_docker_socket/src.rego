# METADATA
# title: Pods must not mount the Docker socket
# description: >-
#   Whoever reaches the Docker socket starts containers on the node outside Kubernetes, as
#   root. Written when the nodes ran Docker.
# custom:
#   policyID: P2006
#   enforcement: deny
#   matchers:
#     kinds:
#     - apiGroups: [""]
#       kinds: [Pod]
#     - apiGroups: [apps]
#       kinds: [DaemonSet, Deployment, StatefulSet]
#     - apiGroups: [batch]
#       kinds: [CronJob, Job]
package pod_deny_docker_socket

import data.lib.core
import data.lib.pods

policyID := "P2006"

sockets := {"/var/run/docker.sock", "/run/docker.sock"}

violation contains msg if {
	some volume in pods.volumes
	trim_suffix(volume.hostPath.path, "/") in sockets
	msg := core.format_with_id(
		sprintf("%s/%s: volume %s mounts the Docker socket", [core.kind, core.name, volume.name]),
		policyID,
	)
}
