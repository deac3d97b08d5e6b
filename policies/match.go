package policies

import (
	"fmt"
	"strings"

	"github.com/threatcov/threatcov/probes"
)

// request is what Gatekeeper's match criteria look at.
type request struct {
	group, kind, name, namespace string
	labels                       map[string]string
	nsLabels                     map[string]string
	user                         probes.UserInfo
	// operation and subResource are the admission request's (requestFor: never an empty
	// operation).
	operation, subResource string
	// generated marks an object of Gatekeeper's expansion (an ExpansionTemplate), which
	// threatcov does not model: the Pod a controller creates is an original request from the
	// controller's service account.
	generated bool
}

func (r request) clusterScoped() bool { return probes.ClusterScoped(r.kind) }

// matches reports whether a Constraint's spec.match selects the request, following
// Gatekeeper: every criterion present must hold; namespaces and excludedNamespaces accept
// prefix ("kube-*") and suffix ("*-system") globs and do not restrict cluster-scoped objects
// other than Namespaces themselves.
func matches(m map[string]any, r request) (bool, error) {
	if len(m) == 0 {
		return true, nil
	}
	if !kindsMatch(m, r) || !scopeMatches(m, r) || !sourceMatches(m, r) || !namespaceMatches(m, r) {
		return false, nil
	}
	if name := str(m, "name"); name != "" && !globMatch(name, r.name) {
		return false, nil
	}
	if sel, ok := m["labelSelector"].(map[string]any); ok {
		ok, err := selectorMatches(sel, r.labels)
		if err != nil || !ok {
			return false, err
		}
	}
	if sel, ok := m["namespaceSelector"].(map[string]any); ok {
		if _, hasNS := r.matchNamespace(); hasNS {
			return selectorMatches(sel, r.matchNamespaceLabels())
		}
	}
	return true, nil
}

// kindsMatch: spec.match.kinds, when present, has an entry naming the request's group and kind.
func kindsMatch(m map[string]any, r request) bool {
	kinds := list(m, "kinds")
	if len(kinds) == 0 {
		return true
	}
	for _, k := range kinds {
		if anyMatch(strs(k, "apiGroups"), r.group, false) && anyMatch(strs(k, "kinds"), r.kind, false) {
			return true
		}
	}
	return false
}

// scopeMatches: spec.match.scope Cluster or Namespaced, when present, is the request's.
func scopeMatches(m map[string]any, r request) bool {
	switch strings.ToLower(str(m, "scope")) {
	case "cluster":
		return r.clusterScoped()
	case "namespaced":
		return !r.clusterScoped()
	}
	return true
}

// sourceMatches: spec.match.source Original or Generated, when present, is the request's.
func sourceMatches(m map[string]any, r request) bool {
	switch strings.ToLower(str(m, "source")) {
	case "original":
		return !r.generated
	case "generated":
		return r.generated
	}
	return true
}

// namespaceMatches: spec.match.namespaces and excludedNamespaces, which do not restrict an
// object without a namespace.
func namespaceMatches(m map[string]any, r request) bool {
	ns, hasNS := r.matchNamespace()
	if !hasNS {
		return true
	}
	if v := strs(m, "namespaces"); len(v) > 0 && !anyMatch(v, ns, true) {
		return false
	}
	if v := strs(m, "excludedNamespaces"); len(v) > 0 && anyMatch(v, ns, true) {
		return false
	}
	return true
}

// isNamespace reports whether the request is for a Namespace itself.
func (r request) isNamespace() bool { return r.kind == "Namespace" && r.group == "" }

// matchNamespace is the namespace the namespace criteria look at: the request's, or a
// Namespace's own name; ok is false for other cluster-scoped objects.
func (r request) matchNamespace() (ns string, ok bool) {
	if r.isNamespace() {
		return r.name, true
	}
	return r.namespace, !r.clusterScoped()
}

// matchNamespaceLabels are the labels namespaceSelector looks at: the namespace's, or a
// Namespace's own.
func (r request) matchNamespaceLabels() map[string]string {
	if r.isNamespace() {
		return r.labels
	}
	return r.nsLabels
}

// anyMatch: an empty list or "*" matches anything; with glob, prefix*/*suffix patterns too.
func anyMatch(patterns []string, v string, glob bool) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if p == "*" || p == v || (glob && globMatch(p, v)) {
			return true
		}
	}
	return false
}

func globMatch(p, v string) bool {
	switch {
	case p == "*":
		return true
	case strings.HasSuffix(p, "*"):
		return strings.HasPrefix(v, strings.TrimSuffix(p, "*"))
	case strings.HasPrefix(p, "*"):
		return strings.HasSuffix(v, strings.TrimPrefix(p, "*"))
	}
	return p == v
}

// selectorMatches evaluates a metav1.LabelSelector.
func selectorMatches(sel map[string]any, labels map[string]string) (bool, error) {
	if ml, ok := sel["matchLabels"].(map[string]any); ok {
		for k, v := range ml {
			got, has := labels[k]
			if !has || got != fmt.Sprint(v) {
				return false, nil
			}
		}
	}
	for _, e := range list(sel, "matchExpressions") {
		key, op, values := str(e, "key"), str(e, "operator"), strs(e, "values")
		got, has := labels[key]
		in := false
		for _, v := range values {
			in = in || (has && got == v)
		}
		switch op {
		case "In":
			if !in {
				return false, nil
			}
		case "NotIn":
			if in {
				return false, nil
			}
		case "Exists":
			if !has {
				return false, nil
			}
		case "DoesNotExist":
			if has {
				return false, nil
			}
		default:
			return false, fmt.Errorf("label selector operator %q is not one of In, NotIn, Exists, DoesNotExist", op)
		}
	}
	return true, nil
}
