package kubernetes.host_namespace_test

import data.kubernetes.host_namespace

test_host_pid if {
	count(host_namespace.violation) == 1 with input as {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"hostPID": true}}
}
