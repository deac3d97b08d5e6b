// Package policies discovers the deployed policy set (the inventory) and executes policies
// against probes (the evaluation). It sits between mapping and analyzer: it may import
// mapping (for probes.Probe) and nothing downstream.
//
// # Inventory
//
// Load reads files and folders; FromObjects takes decoded Kubernetes objects (the cluster
// reader uses it), and both go through one builder, so a policy looks the same wherever it
// was found. It recognises:
//
//   - Rego files (*.rego, not *_test.rego): one pipeline policy per package with
//     deny/violation/warn rules (conftest suffixes such as deny_foo included), konstraint
//     policyID (a policyID rule or METADATA custom.policyID), METADATA title, description,
//     custom.enforcement and custom.matchers. Modules parse as Rego v1, falling back to v0
//     per module. Packages without decision rules are libraries, compiled into each policy
//     that references them (transitively through data.*). Every package counts, as with
//     conftest --all-namespaces. deny and violation rules decide the verdict; warn rules
//     decide it only in a package that has nothing else (and make it a monitor policy).
//     matchers only describe the scope: conftest applies a raw file to every manifest.
//   - Gatekeeper ConstraintTemplates (targets[].rego and libs, or code[] with engine Rego or
//     K8sNativeValidation) and Constraints: one admission policy per Constraint. A template
//     with K8sNativeValidation code runs as CEL (package vap), Rego or not beside it: Gatekeeper's
//     k8scel driver comes before its Rego driver. A template without a Constraint is listed
//     with Mode none.
//   - Kyverno ClusterPolicy/Policy (declared): per-rule failureAction wins over
//     validationFailureAction; a policy whose rules disagree is split per rule.
//   - Namespaces: kept for namespaceSelector; each pod-security.kubernetes.io enforce,
//     audit or warn label is one PSA policy ("psa:NS/MODE"), resolved with the upstream
//     PolicyToEvaluate so invalid labels behave as in the API server.
//   - ValidatingAdmissionPolicy and bindings: one policy per binding, executed by package
//     vap with the inventory's other objects as params (paramKind/paramRef); a policy
//     without binding is listed with Mode none.
//
// CEL is compiled at load: an expression that does not compile is an input error naming the
// file, the line of the expression and the policy.
//
// Every list is sorted (policies by ID), so output built from an Inventory is stable.
// Errors about a user's file name file:line (OPA's own location for Rego, the YAML line for
// Rego embedded in a template) and wrap ErrInput.
//
// # Evaluation
//
// NewEvaluator compiles each Rego policy once (each Gatekeeper template on its own, shared by
// its Constraints) into a prepared query. Evaluate places a probe in a namespace and converts
// it to OPA values once per probe and namespace. Pipeline policies get the manifest as input;
// Gatekeeper policies get input.review (object, oldObject, kind, operation, namespace, name,
// subResource, userInfo) and input.parameters, after the Constraint's match (kinds,
// namespaces, excludedNamespaces, labelSelector, namespaceSelector, scope, name, source);
// referential templates read data.inventory, empty unless WithReferentialData supplies the
// objects Gatekeeper would sync.
// At admission a workload is also judged as the Pod its controller would create; it is
// denied if either is (Evaluation.Via says which). PSA runs k8s.io/pod-security-admission's
// own checks on the Pod. CEL policies (cel.go, package vap) get the request the API server
// would build: operation, subresource, object and old object, the namespace object with its
// labels, the probe's user (a workload's Pod comes from its controller's service account); a
// runtime error counts as the policy's failurePolicy says, and the messages say so. The
// verdict is the policy's logic, independent of its Mode.
//
// # Sandbox
//
// Policies are untrusted code. The built-ins in ForbiddenBuiltins are rejected before
// compilation with the policy's file:line and removed from the compiler's capabilities (which
// also allow no network host):
//
//   - network: http.send, net.lookup_ip_addr;
//   - environment: opa.runtime;
//   - non-deterministic: time.now_ns, rand.intn, uuid.rfc4122, io.jwt.decode_verify (clock),
//     io.jwt.encode_sign and io.jwt.encode_sign_raw (random signatures),
//     crypto.x509.parse_and_verify_certificates[_with_options] (clock);
//   - json.match_schema and json.verify_schema (a schema's $ref may name a remote document).
//
// Everything else stays, including net.cidr_* (pure computation), trace and print. Rego's
// own rules reject recursion at compile time. Each
// Evaluate call has a time limit (WithTimeout, default DefaultTimeout) enforced by context
// cancellation inside OPA's evaluator. print() output is discarded unless WithPrintOutput is
// given. While evaluations run, a guard samples the heap every few milliseconds and cancels
// them when it has grown by more than the memory limit (WithMemoryLimit, default
// DefaultMemoryLimit); since the heap is shared, a cancelled evaluation is re-run alone
// before it is blamed. A single allocation larger than the machine's memory (one built-in
// call producing a gigantic string) happens between samples and is not caught. A policy
// that fails to compile, errors, times out, exceeds the memory limit or panics yields
// VerdictError with its file and message; other evaluations carry on.
//
// # Must not
//
// Reach the network, read the environment, write files, or decide blocked/monitored: that is
// the analyzer's job from Verdict, Mode and probes.Point.
//
// # Cost
//
// Load is linear in input size. Library resolution is O(packages x references) per policy.
// EvaluateAll spreads jobs over GOMAXPROCS workers and returns results in job order.
package policies
