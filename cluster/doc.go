// Package cluster holds what threatcov needs to know about a live Kubernetes API server that
// client-go does not tell it: today, how to read the outcome of a server-side dry-run.
//
// It owns ClassifyDryRunError, which decides from an API error alone whether admission
// denied a request (Pod Security admission, a ValidatingAdmissionPolicy or a validating
// admission webhook) or the request failed for an unrelated reason (a missing ServiceAccount,
// RBAC, schema validation, a webhook that could not be called or does not support dry-run).
// Only the former may count as "blocked, verified live"; the latter are errors to report.
//
// It must not talk to a cluster itself, hold client state, or know about attack trees or
// probes: callers send the requests and hand the errors in. Classification is a constant
// number of anchored regular-expression matches on the status message, O(len(message)).
package cluster
