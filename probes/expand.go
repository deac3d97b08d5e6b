package probes

import "strings"

// podTemplatePaths says where each workload kind keeps the pod template its controller
// instantiates (the kinds Gatekeeper's default expansion templates cover).
var podTemplatePaths = map[string][]string{
	"Deployment":            {"spec", "template"},
	"ReplicaSet":            {"spec", "template"},
	"StatefulSet":           {"spec", "template"},
	"DaemonSet":             {"spec", "template"},
	"Job":                   {"spec", "template"},
	"ReplicationController": {"spec", "template"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template"},
}

// clusterScopedKinds are kinds that never take a namespace; the evaluator leaves them
// un-namespaced when it places a probe in the namespace under test.
var clusterScopedKinds = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "ClusterRole": true,
	"ClusterRoleBinding": true, "StorageClass": true, "CustomResourceDefinition": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true,
	"ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	"PriorityClass": true, "RuntimeClass": true, "CSIDriver": true, "CSINode": true,
	"APIService": true, "IngressClass": true, "VolumeAttachment": true,
	"CertificateSigningRequest": true, "ClusterPolicy": true, "ConstraintTemplate": true,
	"PodSecurityPolicy": true,
}

// DeepCopy copies a JSON-shaped object (maps, slices, scalars) so that a probe is never
// mutated by whoever places, expands or evaluates it. nil stays nil.
func DeepCopy[T map[string]any | []any](v T) T {
	if v == nil {
		return nil
	}
	out, _ := deepCopyValue(v).(T)
	return out
}

// deepCopyValue copies any JSON-shaped value.
func deepCopyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopyValue(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopyValue(e)
		}
		return s
	default:
		return v
	}
}

// ClusterScoped says whether kind never takes a namespace.
func ClusterScoped(kind string) bool { return clusterScopedKinds[kind] }

// Place returns a copy of obj with metadata.namespace set, for namespaced kinds only: the
// namespace under test, unless the object names its own.
func Place(obj map[string]any, namespace string) map[string]any {
	out := DeepCopy(obj)
	if out == nil {
		out = map[string]any{}
	}
	kind, _ := out["kind"].(string)
	if ClusterScoped(kind) {
		return out
	}
	md, _ := out["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		out["metadata"] = md
	}
	if ns, _ := md["namespace"].(string); ns == "" {
		md["namespace"] = namespace
	}
	return out
}

// ExpandPod builds the Pod a workload's controller would create, as Gatekeeper's expansion
// does: the template's metadata and spec, the workload's namespace, the workload's name with
// "-pod" appended. It returns nil for objects that are not workloads or have no template.
// The evaluator and the live prober share it, so both judge the same Pod.
func ExpandPod(obj map[string]any) map[string]any {
	kind, _ := obj["kind"].(string)
	path, ok := podTemplatePaths[kind]
	if !ok {
		return nil
	}
	tmpl, _ := field(obj, path...).(map[string]any)
	if tmpl == nil {
		return nil
	}
	md, _ := deepCopyValue(tmpl["metadata"]).(map[string]any)
	if md == nil {
		md = map[string]any{}
	}
	name, _ := field(obj, "metadata", "name").(string)
	if name == "" {
		name = strings.ToLower(kind)
	}
	md["name"] = name + "-pod"
	delete(md, "generateName")
	if ns, _ := field(obj, "metadata", "namespace").(string); ns != "" {
		md["namespace"] = ns
	}
	spec, _ := deepCopyValue(tmpl["spec"]).(map[string]any)
	if spec == nil {
		spec = map[string]any{}
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec}
}

// field walks nested objects by key; nil where a key is missing or a value is not an object.
func field(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
