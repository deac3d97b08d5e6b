package container_deny_escalation_test

import data.container_deny_escalation

pod(sc) := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "securityContext": sc}]}}

test_escalation_allowed_denied if {
	count(container_deny_escalation.violation) == 1 with input as pod({"allowPrivilegeEscalation": true})
}

test_unset_denied if {
	count(container_deny_escalation.violation) == 1 with input as pod({})
}

test_false_allowed if {
	count(container_deny_escalation.violation) == 0 with input as pod({"allowPrivilegeEscalation": false})
}
