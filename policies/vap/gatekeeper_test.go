package vap_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/policies/vap"
)

func TestTemplateEvaluate(t *testing.T) {
	tmpl, err := vap.NewTemplate("K8sHostPID", obj(t, `
variables:
  - name: hostPID
    expression: has(variables.anyObject.spec.hostPID) && variables.anyObject.spec.hostPID
  - name: exempt
    expression: >-
      variables.params != null && has(variables.params.exemptNames) &&
      variables.anyObject.metadata.name in variables.params.exemptNames
validations:
  - expression: '(has(request.operation) && request.operation == "UPDATE") || !variables.hostPID || variables.exempt'
    messageExpression: '"Sharing the host PID namespace is not allowed: " + variables.anyObject.metadata.name'
`), "spec.targets.0.code.0.source")
	if err != nil {
		t.Fatal(err)
	}
	constraint := func(params string) map[string]any {
		return obj(t, "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sHostPID\nmetadata: {name: c}\nspec:\n"+params)
	}
	hostPID := pod(t, "  hostPID: true\n")
	tests := []struct {
		name       string
		constraint map[string]any
		req        vap.Request
		want       vap.Result
	}{
		{"denied", constraint("  enforcementAction: deny\n"), vap.Request{Object: hostPID, Namespace: &vap.Namespace{Name: "team-a"}},
			vap.Result{Verdict: vap.Denied, Messages: []string{"Sharing the host PID namespace is not allowed: app"}}},
		{"exempt by parameters", constraint("  parameters: {exemptNames: [app]}\n"), vap.Request{Object: hostPID, Namespace: &vap.Namespace{Name: "team-a"}},
			vap.Result{Verdict: vap.Admitted}},
		{"other name not exempt", constraint("  parameters: {exemptNames: [other]}\n"), vap.Request{Object: hostPID, Namespace: &vap.Namespace{Name: "team-a"}},
			vap.Result{Verdict: vap.Denied, Messages: []string{"Sharing the host PID namespace is not allowed: app"}}},
		{"update admitted", constraint(""), vap.Request{Operation: "UPDATE", Object: hostPID, OldObject: hostPID, Namespace: &vap.Namespace{Name: "team-a"}},
			vap.Result{Verdict: vap.Admitted}},
		{"benign", constraint(""), vap.Request{Object: pod(t, ""), Namespace: &vap.Namespace{Name: "team-a"}},
			vap.Result{Verdict: vap.Admitted}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tmpl.Evaluate(context.Background(), tc.constraint, tc.req)); diff != "" {
				t.Errorf("Evaluate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTemplateCompileErrors(t *testing.T) {
	tests := []struct {
		name, source string
		field        string
	}{
		{"params only through variables", "validations:\n  - expression: params == null\n", "spec.targets.0.code.0.source.validations.0.expression"},
		{"reserved variable", "variables:\n  - {name: anyObject, expression: object}\nvalidations:\n  - expression: 'true'\n", "spec.targets.0.code.0.source.variables.0.name"},
		{"bad failure policy", "failurePolicy: Never\nvalidations:\n  - expression: 'true'\n", "spec.targets.0.code.0.source.failurePolicy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := vap.NewTemplate("K", obj(t, tc.source), "spec.targets.0.code.0.source")
			var ces vap.CompileErrors
			if !errors.As(err, &ces) || len(ces) != 1 || ces[0].Field != tc.field {
				t.Errorf("err = %v, want one CompileError on %s", err, tc.field)
			}
		})
	}
}
