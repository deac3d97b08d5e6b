package policies

import "strings"

// podTemplatePaths says where each workload kind keeps the pod template its controller
// instantiates (the kinds Gatekeeper's default expansion templates cover).
var podTemplatePaths = map[string][]any{
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

// deepCopy copies JSON-shaped values so probes are never mutated.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	default:
		return v
	}
}

// placeInNamespace returns a copy of obj with metadata.namespace set (namespaced kinds only).
func placeInNamespace(obj map[string]any, namespace string) map[string]any {
	out, _ := deepCopy(obj).(map[string]any)
	if out == nil {
		out = map[string]any{}
	}
	kind, _ := out["kind"].(string)
	if clusterScopedKinds[kind] {
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
	tmpl, _ := lookup(obj, path...).(map[string]any)
	if tmpl == nil {
		return nil
	}
	md, _ := deepCopy(tmpl["metadata"]).(map[string]any)
	if md == nil {
		md = map[string]any{}
	}
	name := str(obj, "metadata", "name")
	if name == "" {
		name = strings.ToLower(kind)
	}
	md["name"] = name + "-pod"
	delete(md, "generateName")
	if ns := str(obj, "metadata", "namespace"); ns != "" {
		md["namespace"] = ns
	}
	spec, _ := deepCopy(tmpl["spec"]).(map[string]any)
	if spec == nil {
		spec = map[string]any{}
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec}
}
