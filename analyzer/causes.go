package analyzer

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// CauseKind says along which line the admitted requests of a bypassed step differ from the
// denied ones (docs/semantics.md, "Bypass causes").
type CauseKind string

const (
	// CauseNamespace: every request in one namespace got through while the same step is
	// denied in another: the policies do not act there.
	CauseNamespace CauseKind = "namespace"
	// CauseVariant: one way of carrying the attack (a workload kind, an init or ephemeral
	// container) got through.
	CauseVariant CauseKind = "variant"
	// CauseEvasion: an alternative form of the attack got through (another path, socket or
	// spelling).
	CauseEvasion CauseKind = "evasion"
	// CauseOptOut: the labels or annotations the policies exempt by, set by the attacker on
	// their own object.
	CauseOptOut CauseKind = "opt-out"
	// CauseNoDenial: no probe of one family of the step is denied anywhere (Value: the
	// family).
	CauseNoDenial CauseKind = "no-denial"
)

// BypassCause groups the bypassed steps whose probes got through for one reason, so a reader
// fixes one cause rather than reading every step.
type BypassCause struct {
	Kind CauseKind `json:"kind"`
	// Value is what the requests share: the namespace, the variant, the probe of the
	// alternative form ("family/alternative"), or empty.
	Value string `json:"value,omitempty"`
	Text  string `json:"text"` // e.g. "ephemeral containers are not checked"
	Fix   string `json:"fix"`
	// Steps are the bypassed steps with requests of this cause; Policies the enforcing
	// policies addressing those steps that let them through.
	Steps    []string `json:"steps"`
	Policies []string `json:"policies"`
	// Requests counts the admitted probe requests (probe@namespace) it explains.
	Requests int `json:"requests"`

	stepsOf map[string][]string // policy -> the steps where it lets these requests through
}

// bypassCauses explains every admitted request of every bypassed step by one cause, the first
// that holds: nothing denies its family; nothing denies its family in its namespace; it is an
// opt-out copy; an alternative form of the attack; a variant. Causes are sorted by
// the steps they explain, most first. Cost: linear in the admitted requests.
func bypassCauses(in *Input, evals []*stepEval) []BypassCause {
	x := &causeIndex{byName: make(map[string]*probes.Probe, len(in.Probes)), textbook: map[string]string{},
		causes: map[causeKey]*BypassCause{}, stepsOf: map[causeKey]map[string]bool{}, policiesOf: map[causeKey]map[string]bool{}}
	for i := range in.Probes {
		p := &in.Probes[i]
		x.byName[p.Name] = p
		if p.Variant == probes.VariantPod {
			x.textbook[p.Family] = p.Description
		}
	}
	for _, se := range evals {
		if se.result.Status == StatusBypassed && se.facts.live == nil {
			x.explain(se)
		}
	}
	out := make([]BypassCause, 0, len(x.causes))
	for k, c := range x.causes {
		c.Steps, c.Policies = slices.Sorted(maps.Keys(x.stepsOf[k])), slices.Sorted(maps.Keys(x.policiesOf[k]))
		if k.kind == CauseNamespace {
			if level := enforcedPSALevel(in.Inventory, c.Policies); level != "" {
				c.Fix = fmt.Sprintf("label namespace %s %s=%s, as the namespaces where Pod Security denies it are; or, if tenants cannot create workloads there, attest it (a mapping attestation with namespace: %s, docs/mapping.md)", k.value, policies.PSAEnforceLabel, level, k.value)
			}
		}
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if len(a.Steps) != len(b.Steps) {
			return len(a.Steps) > len(b.Steps)
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Value < b.Value
	})
	return out
}

// causeIndex gathers the causes of the admitted requests, step by step.
type causeIndex struct {
	byName              map[string]*probes.Probe
	textbook            map[string]string // family -> the textbook probe's description
	causes              map[causeKey]*BypassCause
	stepsOf, policiesOf map[causeKey]map[string]bool
}

func (x *causeIndex) family(k probeKey) string {
	if p := x.byName[k.probe]; p != nil {
		return p.Family
	}
	return k.probe
}

type famNS struct{ family, ns string }

// explain gives every admitted request of a bypassed step its cause. What is denied is read
// by family, anywhere and per namespace: a family of the step that nothing denies is its own
// cause, whatever variant the request is.
func (x *causeIndex) explain(se *stepEval) {
	f := &se.facts
	deniedFamily, deniedIn := map[string]bool{}, map[famNS]bool{}
	for _, k := range f.keys {
		if f.enforced(k) {
			deniedFamily[x.family(k)] = true
			deniedIn[famNS{x.family(k), k.ns}] = true
		}
	}
	for _, k := range f.keys {
		if f.enforced(k) {
			continue
		}
		family := x.family(k)
		var kk causeKey
		switch p := x.byName[k.probe]; {
		case !deniedFamily[family]:
			kk = causeKey{CauseNoDenial, family}
		case !deniedIn[famNS{family, k.ns}]:
			kk = causeKey{CauseNamespace, k.ns}
		case p == nil:
			kk = causeKey{CauseVariant, k.probe}
		case strings.HasSuffix(p.Variant, probes.OptOutSuffix):
			kk = causeKey{CauseOptOut, ""}
		case standardVariant[p.Variant] != "":
			kk = causeKey{CauseVariant, p.Variant}
		default:
			kk = causeKey{CauseEvasion, p.Name}
		}
		x.record(kk, se, k, family)
	}
}

// record counts request k of step se under cause kk, with the policies to fix: those that
// recognise the attack elsewhere (another variant or form of the family in this namespace, or
// the same probe in another namespace) and let k through; for a family nothing denies, the
// enforcing policies the mapping names.
func (x *causeIndex) record(kk causeKey, se *stepEval, k probeKey, family string) {
	c := x.causes[kk]
	if c == nil {
		c = &BypassCause{Kind: kk.kind, Value: kk.value}
		c.Text, c.Fix = causeText(kk, x.byName[k.probe], x.textbook[family])
		x.causes[kk] = c
		x.stepsOf[kk], x.policiesOf[kk] = map[string]bool{}, map[string]bool{}
	}
	c.Requests++
	x.stepsOf[kk][se.node.ID] = true
	f := &se.facts
	for i := range f.policies {
		pf := &f.policies[i]
		if pf.mode != policies.ModeEnforce || pf.declared || pf.proof[k] {
			continue
		}
		if recognises(pf, f.keys, x.family, family, k, kk.kind) || (kk.kind == CauseNoDenial && pf.mapped) {
			x.policiesOf[kk][pf.id] = true
			if c.stepsOf == nil {
				c.stepsOf = map[string][]string{}
			}
			if ss := c.stepsOf[pf.id]; len(ss) == 0 || ss[len(ss)-1] != se.node.ID {
				c.stepsOf[pf.id] = append(ss, se.node.ID)
			}
		}
	}
}

type causeKey struct {
	kind  CauseKind
	value string
}

// enforcedPSALevel is the level of the first enforcing Pod Security policy among ids, or "".
func enforcedPSALevel(inv *policies.Inventory, ids []string) string {
	for _, id := range ids {
		p := inv.Policy(id)
		if p == nil || p.Engine != policies.EnginePSA || p.Mode != policies.ModeEnforce {
			continue
		}
		return p.PSALevel()
	}
	return ""
}

// recognises reports whether pf denied, with proof, what shows it should have denied k: for a
// namespace cause, k's probe in another namespace; otherwise another request of k's family in
// k's namespace (a policy that acts only elsewhere is a namespace's cause, not a variant's).
func recognises(pf *policyFacts, keys []probeKey, familyOf func(probeKey) string, family string, k probeKey, kind CauseKind) bool {
	for _, o := range keys {
		if !pf.proof[o] {
			continue
		}
		if kind == CauseNamespace && o.probe == k.probe && o.ns != k.ns {
			return true
		}
		if kind != CauseNamespace && familyOf(o) == family && o.ns == k.ns {
			return true
		}
	}
	return false
}

// standardVariant describes the ways every family carries its attack.
var standardVariant = map[string]string{
	probes.VariantPod:                "bare Pods are let through",
	probes.VariantDeployment:         "Deployments (the Pods their ReplicaSets create) are let through",
	probes.VariantCronJob:            "CronJobs (the Jobs and Pods they create) are let through",
	probes.VariantInitContainer:      "init containers are not checked",
	probes.VariantEphemeralContainer: "ephemeral containers (kubectl debug, the pods/ephemeralcontainers subresource) are not checked",
}

var variantFix = map[string]string{
	probes.VariantPod:                "match Pods, not only the workload kinds",
	probes.VariantDeployment:         "match the Pods controllers create (or every workload kind's pod template: spec.template)",
	probes.VariantCronJob:            "match the Pods controllers create (or the CronJob's spec.jobTemplate.spec.template)",
	probes.VariantInitContainer:      "check spec.initContainers as well as spec.containers",
	probes.VariantEphemeralContainer: "check spec.ephemeralContainers and take in UPDATE of the pods/ephemeralcontainers subresource (Gatekeeper: the webhook's rules include it; Kyverno: match Pod/ephemeralcontainers; VAP: the subresource in matchConstraints)",
}

// causeText is how reports state a cause and its fix.
func causeText(c causeKey, p *probes.Probe, textbook string) (text, fix string) {
	value := c.value
	switch c.kind {
	case CauseNamespace:
		return fmt.Sprintf("nothing is denied in namespace %s", value),
			fmt.Sprintf("the policies do not act in %s (excluded by their match, exempted by the engine, or the namespace lacks a label): remove the exemption, or attest that tenants cannot create workloads there (a mapping attestation with namespace: %s, docs/mapping.md)", value, value)
	case CauseOptOut:
		return "the exemption labels or annotations, set by the attacker on their own object, switch the policies off",
			"exempt by namespace or by a field tenants cannot set, or deny the labels to tenants"
	case CauseNoDenial:
		return fmt.Sprintf("no policy denies %s in any form or namespace", value),
			"deploy a policy that recognises this attack (the recommendations name one), or fix the mapped one's parameters"
	case CauseEvasion:
		desc := value
		if p != nil && p.Description != "" {
			desc = strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(p.Description, textbook)), ".")
		}
		return fmt.Sprintf("another form of the attack gets through (%s): %s", value, strings.TrimSpace(desc)),
			"make the policy recognise this form too (docs/probes.md lists each form and why it works)"
	}
	if t, ok := standardVariant[value]; ok {
		return t, variantFix[value]
	}
	return fmt.Sprintf("probe %s gets through", value), "make the policy deny this probe"
}
