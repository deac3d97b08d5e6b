// Package probes holds the attack manifests that prove coverage by execution: probe families
// (one attack, written once as a patch onto a benign base Pod, or as hand-written requests
// for objects that are not Pods), their expansion into variants (bare Pod, Deployment and
// CronJob pod templates, init and ephemeral containers, and the family's own alternatives: the
// forms an attacker uses to evade a blocklist, docs/probes.md), their benign twins (the same
// request without the attack), the expansion of a workload into the Pod its controller would create, and the placing of a
// probe in the namespace under test. The enforcement point type lives here too: it says which
// form of a probe a policy sees (the AdmissionReview or the manifest).
//
// Probes are plain JSON-shaped objects (map[string]any) so that every engine (OPA, Pod
// Security Admission, a live API server) reads the same bytes; nothing here evaluates a
// policy. Every function that hands out an object hands out a copy (DeepCopy): a probe is
// never mutated once built.
//
// Cost: Default parses the embedded families once per call, O(total YAML size); expansion is
// O(families x variants x object size).
package probes
