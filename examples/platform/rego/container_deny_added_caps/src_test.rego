package container_deny_added_caps_test

import data.container_deny_added_caps

pod(c) := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app"}], "ephemeralContainers": [c]}}

test_added_capability_denied_in_ephemeral_container if {
	count(container_deny_added_caps.violation) == 1 with input as pod({"name": "dbg", "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}})
}

test_cap_prefix_and_case_do_not_matter if {
	count(container_deny_added_caps.violation) == 1 with input as pod({"name": "dbg", "securityContext": {"capabilities": {"add": ["cap_sys_admin"]}}})
}

test_net_bind_service_allowed if {
	count(container_deny_added_caps.violation) == 0 with input as pod({"name": "dbg", "securityContext": {"capabilities": {"add": ["CAP_NET_BIND_SERVICE"], "drop": ["ALL"]}}})
}
