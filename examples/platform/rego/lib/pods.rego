# METADATA
# description: >-
#   The pod spec of a Pod or of a workload's pod template, and its containers. Policies that
#   iterate all_containers see init and ephemeral containers too.
package lib.pods

import rego.v1

import data.lib.core

template_kinds := {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "ReplicationController", "Job"}

pod := core.resource if core.kind == "Pod"

pod := core.resource.spec.template if core.kind in template_kinds

pod := core.resource.spec.jobTemplate.spec.template if core.kind == "CronJob"

containers contains container if some container in pod.spec.containers

init_containers contains container if some container in pod.spec.initContainers

ephemeral_containers contains container if some container in pod.spec.ephemeralContainers

all_containers := (containers | init_containers) | ephemeral_containers

volumes contains volume if some volume in pod.spec.volumes
