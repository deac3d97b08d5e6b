# METADATA
# title: Images must come from the platform registry
# description: >-
#   Every container image, init and ephemeral containers included, must start with one of the
#   allowed prefixes: the Constraint's repos parameter in the cluster, the platform registry
#   in CI.
# custom:
#   policyID: P2008
#   enforcement: deny
#   parameters:
#     repos:
#       type: array
#       items:
#         type: string
#   matchers:
#     kinds:
#     - apiGroups: [""]
#       kinds: [Pod]
#     - apiGroups: [apps]
#       kinds: [DaemonSet, Deployment, StatefulSet]
#     - apiGroups: [batch]
#       kinds: [CronJob, Job]
package container_allowed_repos

import data.lib.core
import data.lib.pods

policyID := "P2008"

default_repos := ["registry.example/"]

repos := core.parameters.repos if core.parameters.repos

repos := default_repos if not core.parameters.repos

violation contains msg if {
	some container in pods.all_containers
	not strings.any_prefix_match(container.image, repos)
	msg := core.format_with_id(
		sprintf("%s/%s: container %s uses image %s, allowed prefixes are %v", [core.kind, core.name, container.name, container.image, repos]),
		policyID,
	)
}
