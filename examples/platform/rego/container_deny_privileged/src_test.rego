package container_deny_privileged_test

import data.container_deny_privileged

pod(spec) := {"kind": "Pod", "metadata": {"name": "web"}, "spec": spec}

test_privileged_container_denied if {
	count(container_deny_privileged.violation) == 1 with input as pod({"containers": [{"name": "app", "securityContext": {"privileged": true}}]})
}

test_unprivileged_container_allowed if {
	count(container_deny_privileged.violation) == 0 with input as pod({"containers": [{"name": "app", "securityContext": {"privileged": false}}]})
}

test_privileged_in_gatekeeper_review_denied if {
	review := {"review": {"object": pod({"containers": [{"name": "app", "securityContext": {"privileged": true}}]})}}
	some v in container_deny_privileged.violation with input as review
	v.details.policyID == "P2001"
}

# Documents the known gap: init containers are not checked. threatcov reports it as a bypass.
test_privileged_init_container_not_seen if {
	count(container_deny_privileged.violation) == 0 with input as pod({
		"containers": [{"name": "app"}],
		"initContainers": [{"name": "setup", "securityContext": {"privileged": true}}],
	})
}
