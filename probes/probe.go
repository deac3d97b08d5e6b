package probes

// Probe is one attack manifest: the smallest request that performs an attack step, in one
// variant (bare Pod, a workload's pod template, an init or ephemeral container, ...).
type Probe struct {
	// Name is "<family>/<variant>", unique among probes, e.g. "host-pid/deployment".
	Name string `json:"name"`
	// Family names what the probe does, e.g. "host-pid"; mapping entries refer to families.
	Family string `json:"family"`
	// Variant is how the attack is carried: pod, deployment, cronjob, initcontainer,
	// ephemeralcontainer, ...
	Variant     string `json:"variant"`
	Description string `json:"description,omitempty"`
	// Operation is the admission operation: CREATE, or UPDATE for subresource writes.
	Operation string `json:"operation"`
	// SubResource is set for subresource requests, e.g. "ephemeralcontainers".
	SubResource string `json:"subResource,omitempty"`
	// Object is the manifest as the API server would receive it (namespace left empty: the
	// evaluator places it in the namespace under test).
	Object map[string]any `json:"object"`
	// OldObject is the object before an UPDATE.
	OldObject map[string]any `json:"oldObject,omitempty"`
	// File and Line locate the probe's definition.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Twin is the probe's benign twin: the same request without the attack (the base
	// workload in the same variant, or the object family's benign object). A policy's denial
	// of the probe proves it recognises the attack only if the policy admits the twin
	// (docs/semantics.md, "Statuses of a step"). Twins are shared: every probe of one variant over
	// one base Pod points at the same twin. nil where the request itself is the attack (an
	// exec into a Pod) and any denial is proof.
	Twin *Probe `json:"-"`
}

// TwinFamily is the family every benign twin belongs to. A pod or container family's twin
// is named "benign/<variant>"; an object family's "<family>/<object>~benign".
const TwinFamily = "benign"

// Point is an enforcement point: where a policy acts, and so which form of a probe it sees
// (docs/semantics.md, "Enforcement points"). A step crosses one or more points; a policy acts
// at exactly one.
type Point string

const (
	// PointAdmission sees every request to the API server, as an AdmissionReview.
	PointAdmission Point = "admission"
	// PointPipeline sees only manifests that go through delivery (conftest in CI), as the
	// manifest itself.
	PointPipeline Point = "pipeline"
)

// Families returns the probe families of probes, in first-seen order.
func Families(probes []Probe) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range probes {
		if !seen[p.Family] {
			seen[p.Family] = true
			out = append(out, p.Family)
		}
	}
	return out
}
