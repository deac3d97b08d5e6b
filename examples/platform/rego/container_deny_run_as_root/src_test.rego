package container_deny_run_as_root_test

import data.container_deny_run_as_root

pod(podsc, sc) := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"securityContext": podsc, "containers": [{"name": "app", "securityContext": sc}]}}

test_pod_level_non_root_allowed if {
	count(container_deny_run_as_root.violation) == 0 with input as pod({"runAsNonRoot": true, "runAsUser": 1000}, {})
}

test_container_overrides_pod if {
	count(container_deny_run_as_root.violation) == 2 with input as pod({"runAsNonRoot": true, "runAsUser": 1000}, {"runAsNonRoot": false, "runAsUser": 0})
}

test_unset_denied if {
	count(container_deny_run_as_root.violation) == 1 with input as pod({}, {})
}

test_init_container_checked if {
	p := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {
		"securityContext": {"runAsNonRoot": true},
		"containers": [{"name": "app"}],
		"initContainers": [{"name": "setup", "securityContext": {"runAsUser": 0}}],
	}}
	count(container_deny_run_as_root.violation) == 1 with input as p
}
