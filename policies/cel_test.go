package policies

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// vapObjects is a ValidatingAdmissionPolicy on pods and deployments (and the ephemeral
// containers subresource) whose one validation is expr, with a Deny binding.
func vapObjects(name, expr string) []Object {
	return []Object{
		{Source: Location{File: name + ".yaml", Line: 1}, Object: map[string]any{
			"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
			"metadata": map[string]any{"name": name},
			"spec": map[string]any{
				"matchConstraints": map[string]any{"resourceRules": []any{
					map[string]any{"apiGroups": []any{""}, "apiVersions": []any{"v1"}, "operations": []any{"CREATE", "UPDATE"}, "resources": []any{"pods", "pods/ephemeralcontainers"}},
					map[string]any{"apiGroups": []any{"apps"}, "apiVersions": []any{"v1"}, "operations": []any{"CREATE"}, "resources": []any{"deployments"}},
				}},
				"validations": []any{map[string]any{"expression": expr}},
			},
		}},
		{Source: Location{File: name + ".yaml", Line: 20}, Object: map[string]any{
			"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
			"metadata": map[string]any{"name": name},
			"spec":     map[string]any{"policyName": name, "validationActions": []any{"Deny"}},
		}},
	}
}

// TestCELRequestShape: a CEL policy sees the request as the API server builds it: the
// probe's user, a workload's Pod from its controller's service account, the namespace
// object with its labels, the operation, subresource and old object of an ephemeral
// container UPDATE.
func TestCELRequestShape(t *testing.T) {
	var objs []Object
	for name, expr := range map[string]string{
		"probe-user":      "!(request.userInfo.username == 'threatcov-probe' && 'system:authenticated' in request.userInfo.groups)",
		"controller-user": "request.userInfo.username != 'system:serviceaccount:kube-system:replicaset-controller'",
		"namespace":       "namespaceObject == null || !has(namespaceObject.metadata.labels) || !('team' in namespaceObject.metadata.labels) || namespaceObject.metadata.labels.team != 'payments'",
		"ephemeral":       "!(request.operation == 'UPDATE' && request.subResource == 'ephemeralcontainers' && oldObject != null && !has(oldObject.spec.ephemeralContainers))",
	} {
		objs = append(objs, vapObjects(name, expr)...)
	}
	objs = append(objs, Object{Source: Location{File: "ns.yaml"}, Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": "payments", "labels": map[string]any{"team": "payments"}},
	}})
	inv, err := FromObjects(objs)
	if err != nil {
		t.Fatal(err)
	}
	ev := newEvaluator(t, inv)
	type verdict struct {
		Verdict Verdict
		Via     string
	}
	tests := []struct {
		policy, namespace string
		probe             string
		want              verdict
	}{
		{"probe-user", "default", "bare pod", verdict{VerdictDenied, ViaObject}},
		{"probe-user", "default", "deployment", verdict{VerdictDenied, ViaObject}},
		{"controller-user", "default", "bare pod", verdict{VerdictAdmitted, ""}},
		{"controller-user", "default", "deployment", verdict{VerdictDenied, ViaPod}},
		{"namespace", "payments", "bare pod", verdict{VerdictDenied, ViaObject}},
		{"namespace", "default", "bare pod", verdict{VerdictAdmitted, ""}},
		{"ephemeral", "default", "ephemeral", verdict{VerdictDenied, ViaObject}},
		{"ephemeral", "default", "bare pod", verdict{VerdictAdmitted, ""}},
	}
	for _, tc := range tests {
		t.Run(tc.policy+"/"+tc.probe+"@"+tc.namespace, func(t *testing.T) {
			p := inv.Policy("vap:" + tc.policy + "/" + tc.policy)
			if p == nil {
				t.Fatalf("no policy %s", tc.policy)
			}
			pr := benignPod
			switch tc.probe {
			case "deployment":
				pr = hostPIDDeployment
			case "ephemeral":
				pr = privilegedEphemeral
			}
			e := ev.Evaluate(context.Background(), p, pr, tc.namespace)
			if diff := cmp.Diff(tc.want, verdict{e.Verdict, e.Via}); diff != "" {
				t.Errorf("(-want +got):\n%s\nmessages %q, error %q", diff, e.Messages, e.Err)
			}
		})
	}
}
