package container_allowed_repos_test

import data.container_allowed_repos

pod(image) := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": image}]}}

review(image, repos) := {"review": {"object": pod(image)}, "parameters": {"repos": repos}}

test_default_registry_allowed if {
	count(container_allowed_repos.violation) == 0 with input as pod("registry.example/platform/app:1.4.2")
}

test_other_registry_denied if {
	count(container_allowed_repos.violation) == 1 with input as pod("evil.example/miner:1.0")
}

test_default_rejects_lookalike_host if {
	count(container_allowed_repos.violation) == 1 with input as pod("registry.example.attacker.net/app:1")
}

test_parameters_win_in_gatekeeper if {
	count(container_allowed_repos.violation) == 0 with input as review("mirror.example/app:1", ["mirror.example/"])
	count(container_allowed_repos.violation) == 1 with input as review("registry.example/app:1", ["mirror.example/"])
}

test_ephemeral_container_checked if {
	p := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {
		"containers": [{"name": "app", "image": "registry.example/app:1"}],
		"ephemeralContainers": [{"name": "dbg", "image": "busybox"}],
	}}
	count(container_allowed_repos.violation) == 1 with input as p
}
