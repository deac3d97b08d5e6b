package cluster

// podTemplatePaths says where each workload kind keeps the pod template its controller
// instantiates. The same table as the policies package's expansion (unexported there): the
// live prober must send the Pod too, since Pod Security admission only warns on workloads.
var podTemplatePaths = map[string][]string{
	"Deployment":            {"spec", "template"},
	"ReplicaSet":            {"spec", "template"},
	"StatefulSet":           {"spec", "template"},
	"DaemonSet":             {"spec", "template"},
	"Job":                   {"spec", "template"},
	"ReplicationController": {"spec", "template"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template"},
}

// expandPod builds the Pod a workload's controller would create: the template's metadata
// and spec, the workload's namespace, the workload's name with "-pod" appended. It returns
// nil for objects that are not workloads or have no template.
func expandPod(obj map[string]any) map[string]any {
	kind, _ := obj["kind"].(string)
	path, ok := podTemplatePaths[kind]
	if !ok {
		return nil
	}
	var cur any = obj
	for _, k := range path {
		m, _ := cur.(map[string]any)
		cur = m[k]
	}
	tmpl, _ := cur.(map[string]any)
	if tmpl == nil {
		return nil
	}
	md, _ := deepCopy(tmpl["metadata"]).(map[string]any)
	if md == nil {
		md = map[string]any{}
	}
	objMeta, _ := obj["metadata"].(map[string]any)
	name, _ := objMeta["name"].(string)
	if name == "" {
		name = "workload"
	}
	md["name"] = name + "-pod"
	delete(md, "generateName")
	if ns, _ := objMeta["namespace"].(string); ns != "" {
		md["namespace"] = ns
	}
	spec, _ := deepCopy(tmpl["spec"]).(map[string]any)
	if spec == nil {
		spec = map[string]any{}
	}
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec}
}

// deepCopy copies JSON-shaped values so probes are never mutated.
func deepCopy[T any](v T) T {
	out, _ := copyValue(v).(T)
	return out
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = copyValue(e)
		}
		return s
	default:
		return v
	}
}
