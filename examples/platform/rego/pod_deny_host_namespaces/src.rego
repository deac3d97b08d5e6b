# METADATA
# title: Pods must not share the node's namespaces
# description: >-
#   hostPID, hostIPC and hostNetwork put the pod in the node's process, IPC or network
#   namespace: it sees the node's processes, shared memory or traffic.
# custom:
#   policyID: P2002
#   enforcement: deny
#   matchers:
#     kinds:
#     - apiGroups: [""]
#       kinds: [Pod]
#     - apiGroups: [apps]
#       kinds: [DaemonSet, Deployment, StatefulSet]
#     - apiGroups: [batch]
#       kinds: [CronJob, Job]
#     excludedNamespaces: [kube-system]
package pod_deny_host_namespaces

# The generated template still uses Gatekeeper's legacy rego field.
import rego.v1

import data.lib.core
import data.lib.pods

policyID := "P2002"

host_namespaces := ["hostPID", "hostIPC", "hostNetwork"]

violation contains msg if {
	some field in host_namespaces
	pods.pod.spec[field] == true
	msg := core.format_with_id(sprintf("%s/%s: %s is not allowed", [core.kind, core.name, field]), policyID)
}
