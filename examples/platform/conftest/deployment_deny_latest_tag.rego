# Legacy conftest policy from before the team adopted konstraint, still in Rego v0 syntax and
# still run in CI with `conftest test --policy examples/platform/conftest`. It only looks at
# Deployments, and only at the tag: a digest-less version tag passes.
package main

deny[msg] {
	input.kind == "Deployment"
	container := input.spec.template.spec.containers[_]
	uses_latest(container.image)
	msg := sprintf("Deployment %s: container %s must not use the latest tag (%s)", [input.metadata.name, container.name, container.image])
}

uses_latest(image) {
	endswith(image, ":latest")
}

uses_latest(image) {
	not contains(image, "@")
	parts := split(image, "/")
	not contains(parts[count(parts) - 1], ":")
}
