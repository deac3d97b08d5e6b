// Package remedies holds threatcov's reference policies and the `threatcov fix` planner.
//
// A reference policy (a Remedy) is written once, in sources/NAME.yaml, as the CEL the API
// server runs: the probe families it denies, the resources it applies to, its variables and
// its validations. Render turns it into either a ValidatingAdmissionPolicy with its binding
// (Kubernetes-native, no webhook) or a Gatekeeper ConstraintTemplate whose code is the same
// CEL (the K8sNativeValidation engine) with its Constraint, in the mode the user rolls out
// with: deny, warn or dryrun (validationActions [Deny], [Warn] or [Audit]; enforcementAction
// deny, warn or dryrun). The tests hold every remedy to its families: it denies every probe of
// them (every evasion alternative, workload kind, init and ephemeral container) and admits
// every benign twin, through threatcov's own evaluator, and the VAPs on a real kube-apiserver.
//
// Fix plans which remedies to write for a policy set: it analyses the set as it is and with
// every remedy added, reads from the second analysis which remedy denies which probe
// request, and chooses the smallest set of remedies that closes every open path the remedies
// can close (exhaustively over at most ExactLimit candidates, else greedily, within a factor
// H(n) of the smallest set when every step needs one remedy). It writes them, analyses again
// with them deployed, and reports the figures before and after, and which of the objects the
// team already runs each one would deny.
//
// It must not change the analysis: a remedy is judged by the analyzer like any deployed
// policy (docs/semantics.md, "Statuses of a step"), and the figures printed after are the
// re-analysis, never the plan's prediction.
//
// Cost: three analyses (before, with every remedy, after) plus the plan, which is
// O(2^candidates x open paths) when exact and O(candidates^2 x open paths) when greedy.
package remedies
