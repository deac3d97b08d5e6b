package main

deployment(image) = {"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}

test_latest_denied {
	count(deny) == 1 with input as deployment("registry.example/app:latest")
}

test_missing_tag_denied {
	count(deny) == 1 with input as deployment("registry.example:5000/app")
}

test_version_tag_passes {
	count(deny) == 0 with input as deployment("registry.example:5000/app:1.4.2")
}

test_digest_passes {
	count(deny) == 0 with input as deployment("registry.example/app@sha256:5fed58266b4653fee21a0fc73e1fea1bf3d9cd27e933a412c4b4f6c8412bcd2f")
}

test_pods_not_checked {
	count(deny) == 0 with input as {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "app:latest"}]}}
}
