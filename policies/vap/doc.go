// Package vap evaluates CEL admission policies offline, with the Kubernetes API server's own
// libraries (k8s.io/apiserver v0.37: the validating admission policy validator, its matcher,
// its parameter resolution and its CEL environment), so a verdict here is the one the API
// server would give, not a re-implementation of it.
//
// It owns two kinds of policy:
//
//   - ValidatingAdmissionPolicy with its bindings (Policy, Policy.Evaluate): matchConstraints
//     and the binding's matchResources (resource rules, excludeResourceRules, namespace and
//     object selectors, as the API server applies them, with its defaults: matchPolicy
//     Equivalent, empty selectors, failurePolicy Fail), paramKind and paramRef (by name or
//     selector, parameterNotFoundAction), matchConditions, variables, validations with
//     message and messageExpression, auditAnnotations, and the binding's validationActions.
//   - Gatekeeper ConstraintTemplates whose code[] holds the K8sNativeValidation engine
//     (Template, Template.Evaluate): compiled as Gatekeeper's k8scel driver compiles them
//     (its variables anyObject and params, the constraint as the policy's param object), so
//     variables.params is the Constraint's spec.parameters. The Constraint's spec.match is
//     not evaluated here: Gatekeeper applies it before the driver runs, and so does the
//     caller.
//
// Compile (bad CEL, a wrong return type, a reserved variable name) is an error naming the
// field (spec.validations[0].expression) so the caller can give the file and line. A runtime
// error (a missing field, the cost budget) is counted as the API server counts it:
// failurePolicy Fail denies the request, Ignore admits it; Result.Errors says which errors
// were met, whichever way they counted.
//
// What the API server does and this package cannot: apply the defaults and mutating
// admission a request goes through before validation (the caller gives the object as the API
// server would see it); answer the authorizer variable (there is no RBAC offline: every check
// is answered "no opinion" with an error saying so); resolve paramKinds whose scope it cannot
// infer (a kind whose param objects carry a namespace is namespaced, ConfigMap and Secret
// always are, anything else is cluster-scoped).
//
// It must not reach the network, read the environment or keep state between evaluations:
// a Policy or Template is immutable after compilation and safe for concurrent use.
//
// Cost: compiling is one CEL compilation per expression (about 0.1-1 ms each); an evaluation
// is bounded by the API server's budgets (RuntimeCELCostBudget per binding and param,
// PerCallLimit per Gatekeeper constraint), i.e. roughly a second of CPU at worst, typically
// microseconds. Importing the package adds k8s.io/apiserver and cel-go to a build: see
// docs/policies.md for the measured figures.
package vap
