// Package mapping says, for each node of the attack trees, how an attacker performs it and
// what is expected to stop it: the probe families that perform the step, the policy
// references expected to deny them, the enforcement points the step crosses, or that the step
// is out of scope or attestable (with attestations, their evidence and expiry). The embedded
// default mapping covers every leaf of the CNCF catalog; user files apply over it, later files
// winning per node.
//
// Policy references are the expectation, not the verdict: whether a step is blocked is
// decided by executing every deployed policy on the step's probes (package policies, then
// analyzer). Nothing here reads a policy or a probe manifest.
//
// Cost: Resolve is O(entries x selectors + nodes).
package mapping
