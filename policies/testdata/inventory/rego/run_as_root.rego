package conftest.run_as_root

import rego.v1

deny_run_as_root contains msg if {
	input.kind == "Pod"
	some c in input.spec.containers
	c.securityContext.runAsUser == 0
	msg := sprintf("container %s runs as root", [c.name])
}

warn_no_limits contains msg if {
	input.kind == "Pod"
	some c in input.spec.containers
	not c.resources.limits
	msg := sprintf("container %s has no resource limits", [c.name])
}
