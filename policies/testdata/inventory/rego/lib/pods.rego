# Rego v1 library: the pod spec of a Pod or of a workload's template.
package lib.pods

import data.lib.core

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}

pod := core.resource.spec if core.resource.kind == "Pod"

pod := core.resource.spec.template.spec if core.resource.kind in workload_kinds

pod := core.resource.spec.jobTemplate.spec.template.spec if core.resource.kind == "CronJob"

containers contains c if some c in pod.containers

containers contains c if some c in pod.initContainers

containers contains c if some c in pod.ephemeralContainers
