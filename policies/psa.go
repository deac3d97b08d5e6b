package policies

import (
	"fmt"

	"github.com/threatcov/threatcov/probes"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
)

// PSAEnforceLabel is the namespace label that sets Pod Security Admission's enforced level.
const PSAEnforceLabel = psaapi.EnforceLevelLabel

// psaRegistry is the upstream Pod Security Admission evaluator.
type psaRegistry interface {
	EvaluatePod(lv psaapi.LevelVersion, podMetadata *metav1.ObjectMeta, podSpec *corev1.PodSpec) []psapolicy.CheckResult
}

func newPSARegistry() (psaRegistry, error) {
	return psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
}

// evalPSA judges the Pod of a probe (the probe itself or the Pod its controller would create)
// with the namespace's level, as the API server's PodSecurity admission plugin does for pods
// and the pods/ephemeralcontainers subresource.
func (e *Evaluator) evalPSA(p *Policy, probe probes.Probe, in *probeInput) result {
	if in.pod == nil {
		if str(in.object, "kind") != "Pod" || group(str(in.object, "apiVersion")) != "" {
			return result{verdict: VerdictNotApplicable}
		}
		if probe.SubResource != "" && probe.SubResource != "ephemeralcontainers" {
			return result{verdict: VerdictNotApplicable}
		}
	}
	pod, perr := in.base.typed()
	if perr != nil {
		return result{verdict: VerdictError, err: fmt.Sprintf("probe %s is not a valid Pod for Pod Security Admission: %v", probe.Name, perr)}
	}
	agg := psapolicy.AggregateCheckResults(e.psa.EvaluatePod(p.exec.psaLevel, &pod.ObjectMeta, &pod.Spec))
	if agg.Allowed {
		return result{verdict: VerdictAdmitted}
	}
	return result{verdict: VerdictDenied, messages: []string{
		fmt.Sprintf("violates PodSecurity %q: %s", p.exec.psaLevel.String(), agg.ForbiddenDetail()),
	}}
}

// typed returns the probe's Pod (the object, or the Pod its controller creates) as a corev1.Pod.
func (b *probeBase) typed() (*corev1.Pod, error) {
	b.typedOnce.Do(func() {
		obj := b.pod
		if obj == nil {
			obj = b.object
		}
		pod := &corev1.Pod{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, pod); err != nil {
			b.typedPodErr = err
			return
		}
		b.typedPod = pod
	})
	return b.typedPod, b.typedPodErr
}

// PSALevel is the Pod Security level a Pod Security policy applies ("baseline",
// "restricted", ...), or "" for a policy of another engine.
func (p *Policy) PSALevel() string {
	if p.Engine != EnginePSA || p.exec == nil {
		return ""
	}
	return string(p.exec.psaLevel.Level)
}

// namespaceObject is the Namespace object of a name and labels, as addNamespace reads one.
func namespaceObject(name string, labels map[string]string) map[string]any {
	l := make(map[string]any, len(labels))
	for k, v := range labels {
		l[k] = v
	}
	return map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name, "labels": l}}
}

func (b *builder) addNamespace(o Object) {
	name := str(o.Object, "metadata", "name")
	labels := map[string]string{}
	if m, ok := lookup(o.Object, "metadata", "labels").(map[string]any); ok {
		for k, v := range m {
			labels[k] = fmt.Sprint(v)
		}
	}
	b.inv.Namespaces = append(b.inv.Namespaces, Namespace{Name: name, Labels: labels, Source: o.Source})
	pol, errs := psaapi.PolicyToEvaluate(labels, psaapi.Policy{
		Enforce: psaapi.LevelVersion{Level: psaapi.LevelPrivileged, Version: psaapi.LatestVersion()},
		Audit:   psaapi.LevelVersion{Level: psaapi.LevelPrivileged, Version: psaapi.LatestVersion()},
		Warn:    psaapi.LevelVersion{Level: psaapi.LevelPrivileged, Version: psaapi.LatestVersion()},
	})
	var notes []string
	for _, e := range errs {
		notes = append(notes, "invalid Pod Security label: "+e.Error()+" (the API server falls back to restricted/latest for enforce)")
	}
	modes := []struct {
		name, label string
		lv          psaapi.LevelVersion
		mode        Mode
	}{
		{"enforce", psaapi.EnforceLevelLabel, pol.Enforce, ModeEnforce},
		{"audit", psaapi.AuditLevelLabel, pol.Audit, ModeMonitor},
		{"warn", psaapi.WarnLevelLabel, pol.Warn, ModeMonitor},
	}
	for _, m := range modes {
		raw, ok := labels[m.label]
		if !ok {
			continue
		}
		version := labels[m.label+"-version"]
		action := m.name + "=" + raw
		if version != "" {
			action += "," + m.name + "-version=" + version
		}
		p := &Policy{
			ID:         fmt.Sprintf("psa:%s/%s", name, m.name),
			Refs:       []string{"psa:" + string(m.lv.Level), "psa:" + name},
			Engine:     EnginePSA,
			Point:      probes.PointAdmission,
			Mode:       m.mode,
			Action:     action,
			Title:      fmt.Sprintf("Pod Security %s (%s) %s in namespace %s", m.lv.Level, m.lv.Version, m.name, name),
			Scope:      "namespace=" + name,
			Source:     o.Source,
			Verifiable: true,
			Notes:      notes,
			exec:       &execSpec{key: "psa", psaNamespace: name, psaLevel: m.lv},
		}
		if m.lv.Level == psaapi.LevelRestricted {
			p.Refs = append(p.Refs, "psa:"+string(psaapi.LevelBaseline))
		}
		b.inv.Policies = append(b.inv.Policies, p)
	}
}
