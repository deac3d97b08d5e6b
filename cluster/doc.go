// Package cluster is threatcov's side of a live Kubernetes API server: it reads the deployed
// admission policy set, sends attack probes as server-side dry-runs, and writes the policy
// set as files for analyses without cluster access.
//
// It owns:
//   - LoadConfig: the kubeconfig and context kubectl would use;
//   - Read: discovery and list requests only (Gatekeeper templates and every discovered
//     constraint kind, Kyverno policies, ValidatingAdmissionPolicies and bindings,
//     Namespaces), returning policies.Objects and Notes for resource types the cluster lacks or
//     RBAC forbids (with the rule to grant);
//   - LiveProber (analyzer.LiveProber): dry-run creates (dryRun=All), workloads followed by
//     the Pod their controller would create, classified by ClassifyDryRunError;
//   - ClassifyDryRunError: from an API error alone, whether admission denied the request
//     (Pod Security, a ValidatingAdmissionPolicy, a webhook) or it failed for an unrelated
//     reason (a missing ServiceAccount, RBAC, schema validation, a webhook that could not be
//     called or does not support dry-run). Only the former may count as blocked;
//   - Export: one YAML file per object, which policies.Load reads back to the same inventory.
//
// It must not persist anything in a cluster: the only writes it sends carry dryRun=All. It
// must not print credentials. It does not evaluate policies (package policies does) nor
// decide step statuses (package analyzer does).
//
// Cost: Read is one discovery request per relevant group version plus one list per resource
// type and page of 500; LiveProber one request per probe and namespace (two for workloads),
// cached, cluster-scoped probes once; classification is a constant number of anchored
// regular-expression matches on the status message.
package cluster
