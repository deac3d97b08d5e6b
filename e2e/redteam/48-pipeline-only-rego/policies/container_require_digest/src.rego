# METADATA
# title: Images are pinned by digest
# description: A tag can be moved by whoever can push; a digest cannot.
# custom:
#   policyID: K-114
#   enforcement: deny
package container_require_digest

import rego.v1

template_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

pod_spec := input.spec if input.kind == "Pod"

pod_spec := input.spec.template.spec if input.kind in template_kinds

pod_spec := input.spec.jobTemplate.spec.template.spec if input.kind == "CronJob"

containers contains c if some c in pod_spec.containers

containers contains c if some c in pod_spec.initContainers

containers contains c if some c in pod_spec.ephemeralContainers

violation contains msg if {
	some c in containers
	not contains(c.image, "@sha256:")
	msg := sprintf("K-114: container %s uses %s; pin it by digest", [c.name, c.image])
}
