# METADATA
# title: Bindings must not grant cluster-admin or rights to anonymous users
# description: >-
#   A binding of cluster-admin hands the whole cluster to its subjects; a binding to
#   system:unauthenticated, system:anonymous or system:authenticated hands rights to anyone
#   who reaches the API server. In dryrun until the operators installed with cluster-admin
#   bindings have their own roles.
# custom:
#   policyID: P2009
#   enforcement: dryrun
#   matchers:
#     kinds:
#     - apiGroups: [rbac.authorization.k8s.io]
#       kinds: [ClusterRoleBinding, RoleBinding]
package rbac_deny_privileged_bindings

import data.lib.core

policyID := "P2009"

binding_kinds := {"ClusterRoleBinding", "RoleBinding"}

anonymous := {"system:unauthenticated", "system:anonymous", "system:authenticated"}

violation contains msg if {
	core.kind in binding_kinds
	core.resource.roleRef.kind == "ClusterRole"
	core.resource.roleRef.name == "cluster-admin"
	msg := core.format_with_id(sprintf("%s/%s: binds cluster-admin", [core.kind, core.name]), policyID)
}

violation contains msg if {
	core.kind in binding_kinds
	some subject in core.resource.subjects
	subject.name in anonymous
	msg := core.format_with_id(sprintf("%s/%s: grants rights to %s", [core.kind, core.name, subject.name]), policyID)
}
