package policies

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/threatcov/threatcov/probes"
)

func TestMatches(t *testing.T) {
	pod := request{group: "", kind: "Pod", name: "web", namespace: "payments",
		labels: map[string]string{"app": "web", "tier": "front"}, nsLabels: map[string]string{"team": "payments"}}
	deploy := request{group: "apps", kind: "Deployment", name: "web", namespace: "payments"}
	crb := request{group: "rbac.authorization.k8s.io", kind: "ClusterRoleBinding", name: "admin"}
	ns := request{group: "", kind: "Namespace", name: "kube-system", labels: map[string]string{"env": "sys"}}
	generated := pod
	generated.generated = true
	m := func(v ...any) map[string]any {
		out := map[string]any{}
		for i := 0; i+1 < len(v); i += 2 {
			out[v[i].(string)] = v[i+1]
		}
		return out
	}
	kinds := func(groups, kinds []any) []any { return []any{m("apiGroups", groups, "kinds", kinds)} }
	tests := []struct {
		name  string
		match map[string]any
		req   request
		want  bool
	}{
		{"empty match selects all", nil, crb, true},
		{"kind matches", m("kinds", kinds([]any{""}, []any{"Pod"})), pod, true},
		{"kind group differs", m("kinds", kinds([]any{""}, []any{"Deployment"})), deploy, false},
		{"wildcard group and kind", m("kinds", kinds([]any{"*"}, []any{"*"})), crb, true},
		{"namespaces exact", m("namespaces", []any{"payments"}), pod, true},
		{"namespaces miss", m("namespaces", []any{"default"}), pod, false},
		{"namespaces do not restrict cluster-scoped", m("namespaces", []any{"default"}), crb, true},
		{"namespaces apply to a Namespace by name", m("namespaces", []any{"default"}), ns, false},
		{"excludedNamespaces prefix glob", m("excludedNamespaces", []any{"pay*"}), pod, false},
		{"excludedNamespaces suffix glob", m("excludedNamespaces", []any{"*-system"}), ns, false},
		{"excludedNamespaces other", m("excludedNamespaces", []any{"kube-*"}), pod, true},
		{"scope Cluster", m("scope", "Cluster"), pod, false},
		{"scope Namespaced", m("scope", "Namespaced"), crb, false},
		{"name glob", m("name", "we*"), pod, true},
		{"name miss", m("name", "api"), pod, false},
		{"labelSelector matchLabels", m("labelSelector", m("matchLabels", m("app", "web"))), pod, true},
		{"labelSelector NotIn", m("labelSelector", m("matchExpressions", []any{m("key", "tier", "operator", "NotIn", "values", []any{"front"})})), pod, false},
		{"labelSelector DoesNotExist", m("labelSelector", m("matchExpressions", []any{m("key", "debug", "operator", "DoesNotExist")})), pod, true},
		{"namespaceSelector uses namespace labels", m("namespaceSelector", m("matchLabels", m("team", "payments"))), pod, true},
		{"namespaceSelector on a Namespace uses its own labels", m("namespaceSelector", m("matchLabels", m("env", "sys"))), ns, true},
		{"namespaceSelector miss", m("namespaceSelector", m("matchExpressions", []any{m("key", "team", "operator", "Exists")})), deploy, false},
		{"source Original skips expanded pods", m("source", "Original"), generated, false},
		{"source Generated selects expanded pods", m("source", "Generated"), generated, true},
		{"source Generated skips originals", m("source", "Generated"), pod, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := matches(tt.match, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("matches = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := matches(m("labelSelector", m("matchExpressions", []any{m("key", "a", "operator", "Near")})), pod); err == nil {
		t.Error("an unknown selector operator must be an error")
	}
}

func TestGatekeeperMode(t *testing.T) {
	scoped := func(actions ...map[string]any) map[string]any {
		var s []any
		for _, a := range actions {
			s = append(s, a)
		}
		return map[string]any{"spec": map[string]any{"scopedEnforcementActions": s}}
	}
	at := func(action string, points ...string) map[string]any {
		var eps []any
		for _, p := range points {
			eps = append(eps, map[string]any{"name": p})
		}
		return map[string]any{"action": action, "enforcementPoints": eps}
	}
	tests := []struct {
		name   string
		obj    map[string]any
		action string
		want   Mode
	}{
		{"default is deny", nil, "", ModeEnforce},
		{"deny", nil, "deny", ModeEnforce},
		{"dryrun", nil, "dryrun", ModeMonitor},
		{"warn", nil, "warn", ModeMonitor},
		{"scoped deny at webhook", scoped(at("deny", "validation.gatekeeper.sh")), "scoped", ModeEnforce},
		{"scoped deny everywhere", scoped(at("deny", "*")), "scoped", ModeEnforce},
		{"scoped deny only in audit", scoped(at("deny", "audit.gatekeeper.sh"), at("warn", "validation.gatekeeper.sh")), "scoped", ModeMonitor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := gatekeeperMode(tt.obj, tt.action); got != tt.want {
				t.Errorf("mode %s, want %s", got, tt.want)
			}
		})
	}
}

func TestExpandPod(t *testing.T) {
	got := probes.ExpandPod(probes.Place(hostPIDDeployment.Object, "payments"))
	want := map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "host-pid-pod", "namespace": "payments", "labels": map[string]any{"app": "host-pid"}},
		"spec":     map[string]any{"hostPID": true, "containers": []any{map[string]any{"name": "app", "image": "registry.example.com/app:1.0"}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := probes.ExpandPod(benignPod.Object); got != nil {
		t.Errorf("a Pod expands to nothing, got %v", got)
	}
	if got := probes.Place(map[string]any{"kind": "ClusterRoleBinding"}, "x"); got["metadata"] != nil {
		t.Errorf("cluster-scoped objects get no namespace: %v", got)
	}
}
