# METADATA
# title: Containers must not be privileged
# custom:
#   policyID: T1001
package test.privileged

import rego.v1

violation contains msg if {
	some c in input.spec.containers
	c.securityContext.privileged
	msg := sprintf("container %s is privileged", [c.name])
}
