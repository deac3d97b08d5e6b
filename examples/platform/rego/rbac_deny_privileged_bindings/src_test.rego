package rbac_deny_privileged_bindings_test

import data.rbac_deny_privileged_bindings

binding(kind, role, subject) := {
	"kind": kind,
	"metadata": {"name": "b"},
	"roleRef": {"kind": "ClusterRole", "name": role},
	"subjects": [subject],
}

sa := {"kind": "ServiceAccount", "name": "app"}

test_cluster_admin_denied_in_both_binding_kinds if {
	count(rbac_deny_privileged_bindings.violation) == 1 with input as binding("ClusterRoleBinding", "cluster-admin", sa)
	count(rbac_deny_privileged_bindings.violation) == 1 with input as binding("RoleBinding", "cluster-admin", sa)
}

test_anonymous_subjects_denied if {
	count(rbac_deny_privileged_bindings.violation) == 1 with input as binding("ClusterRoleBinding", "view", {"kind": "Group", "name": "system:unauthenticated"})
	count(rbac_deny_privileged_bindings.violation) == 1 with input as binding("ClusterRoleBinding", "view", {"kind": "User", "name": "system:anonymous"})
}

test_ordinary_binding_allowed if {
	count(rbac_deny_privileged_bindings.violation) == 0 with input as binding("RoleBinding", "edit", sa)
}
