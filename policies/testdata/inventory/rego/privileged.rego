# @title Containers must not run privileged
package kubernetes.privileged

import data.lib.core

policyID := "P1001"

# Deliberately checks spec.containers only (as many real policies do): initContainers and
# workload templates slip through.
violation[msg] {
	c := core.resource.spec.containers[_]
	c.securityContext.privileged
	msg := core.format(sprintf("container %s is privileged", [c.name]))
}
