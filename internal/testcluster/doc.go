// Package testcluster starts a real, throwaway Kubernetes control plane for integration
// tests: one etcd and one kube-apiserver on free loopback ports, with RBAC, a static token
// file (an admin in system:masters and a user with no permissions), generated serving and
// service-account keys, and the API server's default admission plugins (Pod Security
// admission and ValidatingAdmissionPolicy included, and the built-in mutation a Pod gets before
// validation: ServiceAccount admission's token volume, LimitRanger's defaults; constrained
// impersonation is on, as in every v1.36+ API server). No controller-manager, scheduler or
// kubelet runs: nothing reconciles, so CreateNamespace creates the `default` ServiceAccount
// that pod admission needs, and namespaces are never finalized after deletion.
//
// Start gives a test its own cluster; Shared gives all tests of a test binary one cluster
// (startup, 5-12s on 2 cores, paid once; TestMain must call Main). InstallPolicyCRDs,
// Apply/ApplyYAML and CreateConstraintCRD stand in for the controllers that are absent:
// Gatekeeper's and Kyverno's CRDs (schemas written for these tests, in crds/), and the
// constraint CRD Gatekeeper generates per ConstraintTemplate. Those policies are stored and
// discoverable but enforced by nothing; only Pod Security labels, ValidatingAdmissionPolicies
// and webhooks a test serves itself act at admission.
//
// The binaries are found from THREATCOV_KUBE_APISERVER and THREATCOV_ETCD, else at
// .cache/bin/kube-apiserver under the module root (built by scripts/cluster-build.sh) and
// etcd on PATH (installed by scripts/cluster-deps.sh). Start skips the test when they are
// missing, except under CI (env CI set), where it fails it: CI must run these tests.
//
// It must not be imported by product code, must not listen anywhere but 127.0.0.1, and must
// not leave processes behind: Cleanup stops them, and on Linux they are also killed when the
// test binary dies (a -timeout panic runs no cleanup).
package testcluster
