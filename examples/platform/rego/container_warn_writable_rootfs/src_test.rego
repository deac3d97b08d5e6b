package container_warn_writable_rootfs_test

import data.container_warn_writable_rootfs

pod(sc) := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "securityContext": sc}]}}

test_writable_warned if {
	count(container_warn_writable_rootfs.warn) == 1 with input as pod({"readOnlyRootFilesystem": false})
}

test_read_only_passes if {
	count(container_warn_writable_rootfs.warn) == 0 with input as pod({"readOnlyRootFilesystem": true})
}
