# METADATA
# title: Pods must not share host namespaces
# description: Sharing the host PID, IPC or network namespace lets a container see and attack host processes.
# custom:
#   policyID: P1002
#   enforcement: deny
#   matchers:
#     kinds:
#     - apiGroups: [""]
#       kinds: ["Pod"]
package kubernetes.host_namespace

import data.lib.core
import data.lib.pods

violation contains msg if {
	pods.pod.hostPID
	msg := core.format(sprintf("%s/%s shares the host PID namespace", [core.resource.kind, core.resource.metadata.name]))
}

violation contains msg if {
	pods.pod.hostIPC
	msg := core.format(sprintf("%s/%s shares the host IPC namespace", [core.resource.kind, core.resource.metadata.name]))
}

violation contains msg if {
	pods.pod.hostNetwork
	msg := core.format(sprintf("%s/%s shares the host network namespace", [core.resource.kind, core.resource.metadata.name]))
}
