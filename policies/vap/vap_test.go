package vap_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"github.com/threatcov/threatcov/policies/vap"
)

// obj decodes a YAML manifest as the API server's JSON decoder does (whole numbers int64).
func obj(t testing.TB, src string) map[string]any {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := utiljson.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const podRules = `
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["pods", "pods/ephemeralcontainers"]
`

func policy(t testing.TB, name, spec string) *vap.Policy {
	t.Helper()
	p, err := vap.NewPolicy(obj(t, "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: "+name+"}\nspec:"+podRules+spec))
	if err != nil {
		t.Fatalf("NewPolicy %s: %v", name, err)
	}
	return p
}

func binding(t testing.TB, spec string) *vap.Binding {
	t.Helper()
	b, err := vap.NewBinding(obj(t, "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicyBinding\nmetadata: {name: b}\nspec:\n"+spec))
	if err != nil {
		t.Fatalf("NewBinding: %v", err)
	}
	return b
}

func pod(t testing.TB, spec string) map[string]any {
	t.Helper()
	return obj(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: app, namespace: team-a, labels: {app: web}}\nspec:\n  containers:\n    - name: app\n      image: registry.example/app:1\n"+spec)
}

var probeUser = vap.UserInfo{Username: "threatcov-probe", Groups: []string{"system:authenticated"}}

func TestPolicyEvaluate(t *testing.T) {
	hostPID := policy(t, "deny-host-pid", `
  validations:
    - expression: "!has(object.spec.hostPID) || !object.spec.hostPID"
      messageExpression: "'pod ' + object.metadata.name + ' shares the host PID namespace'"
`)
	privileged := policy(t, "deny-privileged", `
  paramKind: {apiVersion: v1, kind: ConfigMap}
  variables:
    - name: containers
      expression: >-
        object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : []) +
        (has(object.spec.ephemeralContainers) ? object.spec.ephemeralContainers : [])
    - name: allowed
      expression: "has(params.data) && 'allowPrivileged' in params.data && params.data.allowPrivileged == 'true'"
  validations:
    - expression: >-
        variables.allowed || variables.containers.all(c, !has(c.securityContext) ||
        !has(c.securityContext.privileged) || !c.securityContext.privileged)
      message: privileged containers are not allowed
`)
	exempt := policy(t, "deny-host-network", `
  matchConditions:
    - name: not-exempt
      expression: "!has(object.metadata.labels) || !('exempt' in object.metadata.labels)"
  validations:
    - expression: "!has(object.spec.hostNetwork) || !object.spec.hostNetwork"
`)
	strict := policy(t, "ipc-fail", `
  validations:
    - expression: "object.spec.hostIPC == false"
`)
	lenient := policy(t, "ipc-ignore", `
  failurePolicy: Ignore
  validations:
    - expression: "object.spec.hostIPC == false"
`)
	debug := policy(t, "no-debug", `
  validations:
    - expression: "request.subResource != 'ephemeralcontainers' || request.userInfo.username == 'admin'"
      message: ephemeral containers are for admins
`)
	deny := binding(t, "  policyName: p\n  validationActions: [Deny]\n")
	params := vap.NewParams([]map[string]any{
		obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: priv, namespace: team-a}\ndata: {allowPrivileged: 'false'}"),
		obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: priv, namespace: lab}\ndata: {allowPrivileged: 'true'}"),
	})
	paramBinding := binding(t, "  policyName: deny-privileged\n  validationActions: [Deny, Audit]\n  paramRef: {name: priv, parameterNotFoundAction: Deny}\n")
	prodOnly := binding(t, "  policyName: p\n  validationActions: [Warn]\n  matchResources:\n    namespaceSelector:\n      matchExpressions: [{key: env, operator: In, values: [prod]}]\n")
	teamA := &vap.Namespace{Name: "team-a"}
	privPod := pod(t, "      securityContext: {privileged: true}\n")
	benign := pod(t, "")
	withEphemeral := pod(t, "  ephemeralContainers:\n    - name: debugger\n      image: busybox\n      securityContext: {privileged: true}\n")

	tests := []struct {
		name    string
		policy  *vap.Policy
		binding *vap.Binding
		req     vap.Request
		want    vap.Result
	}{
		{"host pid denied", hostPID, deny, vap.Request{Object: pod(t, "  hostPID: true\n"), Namespace: teamA},
			vap.Result{Verdict: vap.Denied, Messages: []string{"pod app shares the host PID namespace"}, Actions: []string{"Deny"}}},
		{"benign admitted", hostPID, deny, vap.Request{Object: benign, Namespace: teamA},
			vap.Result{Verdict: vap.Admitted, Actions: []string{"Deny"}}},
		{"deployment not matched", hostPID, deny, vap.Request{Object: obj(t, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: team-a}\nspec: {template: {spec: {hostPID: true}}}"), Namespace: teamA},
			vap.Result{Verdict: vap.NotApplicable, Actions: []string{"Deny"}}},
		{"param denies", privileged, paramBinding, vap.Request{Object: privPod, Namespace: teamA},
			vap.Result{Verdict: vap.Denied, Messages: []string{"privileged containers are not allowed"}, Actions: []string{"Deny", "Audit"}}},
		{"param allows in lab", privileged, paramBinding, vap.Request{Object: privPod, Namespace: &vap.Namespace{Name: "lab"}},
			vap.Result{Verdict: vap.Admitted, Actions: []string{"Deny", "Audit"}}},
		{"param missing denies", privileged, paramBinding, vap.Request{Object: benign, Namespace: &vap.Namespace{Name: "other"}},
			vap.Result{Verdict: vap.Denied,
				Messages: []string{"failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction (failurePolicy Fail: the API server denies the request)"},
				Errors:   []string{"failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction (failurePolicy Fail: the API server denies the request)"},
				Actions:  []string{"Deny", "Audit"}}},
		{"ephemeral container UPDATE", privileged, paramBinding, vap.Request{Operation: "UPDATE", SubResource: "ephemeralcontainers", Object: withEphemeral, OldObject: benign, Namespace: teamA},
			vap.Result{Verdict: vap.Denied, Messages: []string{"privileged containers are not allowed"}, Actions: []string{"Deny", "Audit"}}},
		{"match condition excludes", exempt, deny, vap.Request{Object: obj(t, "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {exempt: 'yes'}}\nspec: {hostNetwork: true}"), Namespace: teamA},
			vap.Result{Verdict: vap.NotApplicable, Actions: []string{"Deny"}}},
		{"match condition holds", exempt, deny, vap.Request{Object: pod(t, "  hostNetwork: true\n"), Namespace: teamA},
			vap.Result{Verdict: vap.Denied, Messages: []string{"failed expression: !has(object.spec.hostNetwork) || !object.spec.hostNetwork"}, Actions: []string{"Deny"}}},
		{"namespace selector out", hostPID, prodOnly, vap.Request{Object: pod(t, "  hostPID: true\n"), Namespace: teamA},
			vap.Result{Verdict: vap.NotApplicable, Actions: []string{"Warn"}}},
		{"namespace selector in", hostPID, prodOnly, vap.Request{Object: pod(t, "  hostPID: true\n"), Namespace: &vap.Namespace{Name: "shop", Labels: map[string]string{"env": "prod"}}},
			vap.Result{Verdict: vap.Denied, Messages: []string{"pod app shares the host PID namespace"}, Actions: []string{"Warn"}}},
		{"runtime error fails closed", strict, deny, vap.Request{Object: benign, Namespace: teamA},
			vap.Result{Verdict: vap.Denied, Messages: []string{"runtime error: expression 'object.spec.hostIPC == false' resulted in error: no such key: hostIPC (failurePolicy Fail: the API server denies the request)"},
				Errors:  []string{"runtime error: expression 'object.spec.hostIPC == false' resulted in error: no such key: hostIPC (failurePolicy Fail: the API server denies the request)"},
				Actions: []string{"Deny"}}},
		{"runtime error ignored", lenient, deny, vap.Request{Object: benign, Namespace: teamA},
			vap.Result{Verdict: vap.Admitted,
				Errors:  []string{"runtime error: expression 'object.spec.hostIPC == false' resulted in error: no such key: hostIPC (failurePolicy Ignore: the API server admits the request)"},
				Actions: []string{"Deny"}}},
		{"user info reaches CEL", debug, deny, vap.Request{Operation: "UPDATE", SubResource: "ephemeralcontainers", Object: withEphemeral, OldObject: benign, Namespace: teamA, User: probeUser},
			vap.Result{Verdict: vap.Denied, Messages: []string{"ephemeral containers are for admins"}, Actions: []string{"Deny"}}},
		{"admin may debug", debug, deny, vap.Request{Operation: "UPDATE", SubResource: "ephemeralcontainers", Object: withEphemeral, OldObject: benign, Namespace: teamA, User: vap.UserInfo{Username: "admin"}},
			vap.Result{Verdict: vap.Admitted, Actions: []string{"Deny"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.policy.Evaluate(context.Background(), tc.binding, params, tc.req)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	_, err := vap.NewPolicy(obj(t, `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: broken}
spec:
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [CREATE], resources: [pods]}]
  variables:
    - {name: podName, expression: "object.metadata.name"}
  validations:
    - expression: "variables.podName == 'x'"
    - expression: "object.spec.containers.all(c,\n  c.securityContext.privileged ==)"
    - expression: "'not a bool'"
`))
	var ces vap.CompileErrors
	if !errors.As(err, &ces) {
		t.Fatalf("err = %v, want CompileErrors", err)
	}
	var got []string
	for _, e := range ces {
		got = append(got, e.Field)
		if e.Field == "spec.validations.1.expression" && e.Line != 2 {
			t.Errorf("%s: line %d, want 2 (the line within the expression)", e.Field, e.Line)
		}
	}
	want := []string{"spec.validations.1.expression", "spec.validations.2.expression"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fields (-want +got):\n%s\n%v", diff, err)
	}
	if !strings.Contains(err.Error(), "spec.validations[2].expression: must evaluate to bool") {
		t.Errorf("error %q does not say the return type is wrong", err)
	}
	if l := vap.ExpressionLine(ces[0], map[string]int{"spec.validations.1.expression": 14}); l != 15 {
		t.Errorf("ExpressionLine = %d, want 15", l)
	}
}

func TestUnknownFieldRefused(t *testing.T) {
	_, err := vap.NewPolicy(obj(t, "apiVersion: admissionregistration.k8s.io/v1\nkind: ValidatingAdmissionPolicy\nmetadata: {name: p}\nspec:\n  validation: [{expression: 'true'}]\n"))
	if err == nil || !strings.Contains(err.Error(), "validation") {
		t.Errorf("err = %v, want an unknown field error naming spec.validation", err)
	}
}

// TestCostBudget: an expression that would iterate 10^8 times stops at the API server's
// runtime cost budget, and the error counts as failurePolicy says.
func TestCostBudget(t *testing.T) {
	ten := "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
	nested := "true"
	for _, v := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		nested = ten + ".all(" + v + ", " + nested + ")"
	}
	deny := binding(t, "  policyName: p\n  validationActions: [Deny]\n")
	for _, fp := range []string{"Fail", "Ignore"} {
		p := policy(t, "expensive", "\n  failurePolicy: "+fp+"\n  validations:\n    - expression: \""+nested+"\"\n")
		got := p.Evaluate(context.Background(), deny, nil, vap.Request{Object: pod(t, ""), Namespace: &vap.Namespace{Name: "team-a"}})
		want := map[string]vap.Verdict{"Fail": vap.Denied, "Ignore": vap.Admitted}[fp]
		if got.Verdict != want || len(got.Errors) != 1 || !strings.Contains(got.Errors[0], "cost") || !strings.Contains(got.Errors[0], "failurePolicy "+fp) {
			t.Errorf("failurePolicy %s: %+v, want %s with one cost budget error saying how it counted", fp, got, want)
		}
	}
}

// BenchmarkPolicyEvaluate: one binding with a param on one Pod (about 35 us and 17 KiB on a
// loaded 2-core machine).
func BenchmarkPolicyEvaluate(b *testing.B) {
	t := b
	p := policy(t, "deny-privileged", `
  paramKind: {apiVersion: v1, kind: ConfigMap}
  validations:
    - expression: "params.data.allowPrivileged == 'true' || object.spec.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || !c.securityContext.privileged)"
`)
	bd := binding(t, "  policyName: deny-privileged\n  validationActions: [Deny]\n  paramRef: {name: priv, parameterNotFoundAction: Deny}\n")
	params := vap.NewParams([]map[string]any{obj(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: priv, namespace: team-a}\ndata: {allowPrivileged: 'false'}")})
	req := vap.Request{Object: pod(t, "      securityContext: {privileged: true}\n"), Namespace: &vap.Namespace{Name: "team-a"}}
	b.ReportAllocs()
	for b.Loop() {
		if r := p.Evaluate(context.Background(), bd, params, req); r.Verdict != vap.Denied {
			b.Fatalf("verdict %s", r.Verdict)
		}
	}
}
