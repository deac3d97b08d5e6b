package pod_deny_docker_socket_test

import data.pod_deny_docker_socket

pod(path) := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"volumes": [{"name": "v", "hostPath": {"path": path}}]}}

test_docker_socket_denied if {
	count(pod_deny_docker_socket.violation) == 1 with input as pod("/var/run/docker.sock")
}

test_other_host_paths_not_this_policy if {
	count(pod_deny_docker_socket.violation) == 0 with input as pod("/var/log")
}

# Known gap, reported by threatcov as a bypass: containerd's socket is not listed.
test_containerd_socket_not_seen if {
	count(pod_deny_docker_socket.violation) == 0 with input as pod("/run/containerd/containerd.sock")
}
