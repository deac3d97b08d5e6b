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
	if kinds := list(m, "kinds"); len(kinds) > 0 {
		ok := false
		for _, k := range kinds {
			groups := strs(k, "apiGroups")
			names := strs(k, "kinds")
			if anyMatch(groups, r.group, false) && anyMatch(names, r.kind, false) {
				ok = true
				break
			}
		}
		if !ok {
			return false, nil
		}
	}
	switch strings.ToLower(str(m, "scope")) {
	case "cluster":
		if !r.clusterScoped() {
			return false, nil
		}
	case "namespaced":
		if r.clusterScoped() {
			return false, nil
		}
	}
	switch strings.ToLower(str(m, "source")) {
	case "original":
		if r.generated {
			return false, nil
		}
	case "generated":
		if !r.generated {
			return false, nil
		}
	}
	ns, hasNS := r.namespace, !r.clusterScoped()
	if r.kind == "Namespace" && r.group == "" {
		ns, hasNS = r.name, true
	}
	if v := strs(m, "namespaces"); len(v) > 0 && hasNS && !anyMatch(v, ns, true) {
		return false, nil
	}
	if v := strs(m, "excludedNamespaces"); len(v) > 0 && hasNS && anyMatch(v, ns, true) {
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
	if sel, ok := m["namespaceSelector"].(map[string]any); ok && hasNS {
		labels := r.nsLabels
		if r.kind == "Namespace" && r.group == "" {
			labels = r.labels
		}
		ok, err := selectorMatches(sel, labels)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
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
