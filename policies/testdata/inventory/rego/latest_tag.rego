package conftest.latest_tag

warn[msg] {
	c := input.spec.containers[_]
	endswith(c.image, ":latest")
	msg := sprintf("container %s uses the latest tag", [c.name])
}
