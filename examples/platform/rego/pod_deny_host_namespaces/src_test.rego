package pod_deny_host_namespaces_test

import rego.v1

import data.pod_deny_host_namespaces

test_each_host_namespace_denied if {
	every field in ["hostPID", "hostIPC", "hostNetwork"] {
		count(pod_deny_host_namespaces.violation) == 1 with input as {"kind": "Pod", "metadata": {"name": "p"}, "spec": json.patch({"containers": []}, [{"op": "add", "path": field, "value": true}])}
	}
}

test_deployment_template_denied if {
	d := {"kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": {"hostPID": true, "containers": []}}}}
	count(pod_deny_host_namespaces.violation) == 1 with input as d
}

test_false_allowed if {
	count(pod_deny_host_namespaces.violation) == 0 with input as {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"hostNetwork": false, "containers": []}}
}
