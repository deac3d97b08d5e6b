package probes

import "strings"

// Requests reach validating admission as the API server sends them: after its built-in
// mutating admission, and from whoever really makes them (docs/semantics.md, "The requests,
// as the API server sends them").

// Attacker is the user every probe is sent as: an authenticated user with no special group.
var Attacker = UserInfo{Username: "threatcov-probe", Groups: []string{"system:authenticated"}}

// UserInfo is the requester an admission review names.
type UserInfo struct {
	Username string
	Groups   []string
}

// controllers are the service accounts of kube-controller-manager that create the Pods of
// each workload kind (a Deployment's Pods come from its ReplicaSet, a CronJob's from its Job).
var controllers = map[string]string{
	"Deployment":            "replicaset-controller",
	"ReplicaSet":            "replicaset-controller",
	"StatefulSet":           "statefulset-controller",
	"DaemonSet":             "daemon-set-controller",
	"Job":                   "job-controller",
	"CronJob":               "job-controller",
	"ReplicationController": "replication-controller",
}

// Controller is the requester of the Pod a workload of kind creates: the controller's service
// account in kube-system, not the attacker who created the workload. ok is false for kinds
// no controller stamps Pods from.
func Controller(kind string) (u UserInfo, ok bool) {
	sa, ok := controllers[kind]
	if !ok {
		return UserInfo{}, false
	}
	return UserInfo{
		Username: "system:serviceaccount:kube-system:" + sa,
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"},
	}, true
}

// Token volume and mount that ServiceAccount admission adds (plugin/pkg/admission/
// serviceaccount: a projected "kube-api-access-<random>" volume, mounted read-only at
// DefaultAPITokenMountPath in every container and init container).
const (
	tokenVolume    = "kube-api-access-probe"
	tokenMountPath = "/var/run/secrets/kubernetes.io/serviceaccount"
)

// Admit applies the API server's built-in mutating admission to a Pod being created and
// returns the result (a copy; other objects come back as they are): ServiceAccount admission
// sets the service account to default when none is named and, unless the Pod turns
// automounting off, injects the token volume and mounts it into every container and init
// container, as the API server does before any validating webhook sees the Pod.
func Admit(obj map[string]any) map[string]any {
	if obj["kind"] != "Pod" {
		return obj
	}
	out := DeepCopy(obj)
	spec, _ := out["spec"].(map[string]any)
	if spec == nil {
		return out
	}
	if sa, _ := spec["serviceAccountName"].(string); sa == "" {
		spec["serviceAccountName"] = "default"
	}
	if auto, ok := spec["automountServiceAccountToken"].(bool); ok && !auto {
		return out
	}
	vols, _ := spec["volumes"].([]any)
	for _, v := range vols {
		if m, _ := v.(map[string]any); m != nil && strings.HasPrefix(str(m["name"]), "kube-api-access-") {
			return out
		}
	}
	spec["volumes"] = append(vols, map[string]any{
		"name": tokenVolume,
		"projected": map[string]any{
			"defaultMode": int64(420),
			"sources": []any{
				map[string]any{"serviceAccountToken": map[string]any{"expirationSeconds": int64(3607), "path": "token"}},
				map[string]any{"configMap": map[string]any{"name": "kube-root-ca.crt", "items": []any{map[string]any{"key": "ca.crt", "path": "ca.crt"}}}},
				map[string]any{"downwardAPI": map[string]any{"items": []any{map[string]any{"path": "namespace", "fieldRef": map[string]any{"apiVersion": "v1", "fieldPath": "metadata.namespace"}}}}},
			},
		},
	})
	for _, field := range []string{"initContainers", "containers"} {
		cs, _ := spec[field].([]any)
		for _, c := range cs {
			cm, _ := c.(map[string]any)
			if cm == nil {
				continue
			}
			mounts, _ := cm["volumeMounts"].([]any)
			taken := false
			for _, m := range mounts {
				if mm, _ := m.(map[string]any); mm != nil && str(mm["mountPath"]) == tokenMountPath {
					taken = true
				}
			}
			if !taken {
				cm["volumeMounts"] = append(mounts, map[string]any{"name": tokenVolume, "readOnly": true, "mountPath": tokenMountPath})
			}
		}
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// OptOutSuffix ends the name of a probe that carries the labels and annotations the deployed
// policies exempt by.
const OptOutSuffix = "+opt-out"

// WithOptOuts returns, for every probe, a variant that also carries labels and annotations
// the attacker sets on their own object to opt out of a policy (docs/semantics.md, "Statuses
// of a step"),
// on the object, its Pod template and, for an update, its old object; the variant's twin
// carries them too, so a policy that rejects the labels themselves is over-broad, not proof.
// None when there is nothing to set.
func WithOptOuts(ps []Probe, labels, annotations map[string]string) []Probe {
	if len(labels)+len(annotations) == 0 {
		return nil
	}
	twins := map[string]*Probe{}
	mark := func(p Probe) Probe {
		p.Name += OptOutSuffix
		p.Variant += OptOutSuffix
		p.Object = DeepCopy(p.Object)
		p.OldObject = DeepCopy(p.OldObject)
		for _, obj := range []map[string]any{p.Object, p.OldObject} {
			if obj == nil {
				continue
			}
			setMetadata(obj, labels, annotations)
			if path, ok := podTemplatePaths[str(obj["kind"])]; ok {
				if tmpl, _ := field(obj, path...).(map[string]any); tmpl != nil {
					setMetadata(tmpl, labels, annotations)
				}
			}
		}
		return p
	}
	var out []Probe
	for _, p := range ps {
		q := mark(p)
		if p.Twin != nil {
			t, ok := twins[p.Twin.Name]
			if !ok {
				tw := mark(*p.Twin)
				t = &tw
				twins[p.Twin.Name] = t
			}
			q.Twin = t
		}
		out = append(out, q)
	}
	return out
}

// setMetadata merges labels and annotations into obj's metadata.
func setMetadata(obj map[string]any, labels, annotations map[string]string) {
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		obj["metadata"] = md
	}
	merge(md, "labels", anyValues(labels), true)
	merge(md, "annotations", anyValues(annotations), true)
}

func anyValues(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// merge sets values into the object under obj[key], creating it when there is something to
// set; replace says whether a key already there is overwritten.
func merge(obj map[string]any, key string, values map[string]any, replace bool) {
	if len(values) == 0 {
		return
	}
	m, _ := obj[key].(map[string]any)
	if m == nil {
		m = map[string]any{}
		obj[key] = m
	}
	for k, v := range values {
		if _, ok := m[k]; replace || !ok {
			m[k] = v
		}
	}
}

// ApplyLimitRanges applies LimitRanger, the built-in mutating admission that fills in the
// resources a container leaves unset from the LimitRanges of its namespace, and returns the
// result (a copy; ranges are LimitRange objects). Each LimitRange item of type Container
// defaults as the API server defaults it: default from max, defaultRequest from default; then
// every container and init container gets the default limits and requests it does not set.
func ApplyLimitRanges(obj map[string]any, ranges []map[string]any) map[string]any {
	if obj["kind"] != "Pod" || len(ranges) == 0 {
		return obj
	}
	limits, requests := map[string]any{}, map[string]any{}
	for _, lr := range ranges {
		items, _ := field(lr, "spec", "limits").([]any)
		for _, it := range items {
			item, _ := it.(map[string]any)
			if item == nil || str(item["type"]) != "Container" {
				continue
			}
			def, _ := item["default"].(map[string]any)
			if def == nil {
				def, _ = item["max"].(map[string]any)
			}
			req, _ := item["defaultRequest"].(map[string]any)
			if req == nil {
				req = def
			}
			for k, v := range def {
				limits[k] = v
			}
			for k, v := range req {
				requests[k] = v
			}
		}
	}
	if len(limits)+len(requests) == 0 {
		return obj
	}
	out := DeepCopy(obj)
	spec, _ := out["spec"].(map[string]any)
	for _, f := range []string{"initContainers", "containers"} {
		cs, _ := spec[f].([]any)
		for _, c := range cs {
			cm, _ := c.(map[string]any)
			if cm == nil {
				continue
			}
			res, _ := cm["resources"].(map[string]any)
			if res == nil {
				res = map[string]any{}
				cm["resources"] = res
			}
			merge(res, "limits", limits, false)
			merge(res, "requests", requests, false)
		}
	}
	return out
}
