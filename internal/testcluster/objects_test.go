package testcluster_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/threatcov/threatcov/internal/testcluster"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const template = `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sdenyhostpid
spec:
  crd:
    spec:
      names:
        kind: K8sDenyHostPID
        shortNames: [denyhostpid]
      validation:
        openAPIV3Schema:
          type: object
          properties:
            exemptImages:
              type: array
              items:
                type: string
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sdenyhostpid
        violation[{"msg": "hostPID is not allowed"}] {
          input.review.object.spec.hostPID
        }
`

const policies = `
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sDenyHostPID
metadata:
  name: deny-host-pid
spec:
  enforcementAction: deny
  match:
    kinds:
      - apiGroups: [""]
        kinds: ["Pod"]
  parameters:
    exemptImages: ["registry.k8s.io/pause:3.10"]
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: disallow-host-pid
spec:
  validationFailureAction: Enforce
  rules:
    - name: host-pid
      match:
        any:
          - resources:
              kinds: [Pod]
      validate:
        message: hostPID is not allowed
        pattern:
          spec:
            =(hostPID): "false"
---
apiVersion: kyverno.io/v1
kind: Policy
metadata:
  name: audit-host-pid
  namespace: kyverno-team
spec:
  rules:
    - name: host-pid
      match:
        any:
          - resources:
              kinds: [Pod]
      validate:
        failureAction: Audit
        message: hostPID is audited
        pattern:
          spec:
            =(hostPID): "false"
`

func TestPolicyObjectsRoundTrip(t *testing.T) {
	c := testcluster.Shared(t)
	ctx := t.Context()
	if err := c.InstallPolicyCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateNamespace(ctx, "kyverno-team", nil); err != nil {
		t.Fatal(err)
	}
	stored, err := c.ApplyYAML(ctx, []byte(template))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CreateConstraintCRD(ctx, stored[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ApplyYAML(ctx, []byte(policies)); err != nil {
		t.Fatal(err)
	}

	// What a reader discovers: the constraint kind in constraints.gatekeeper.sh.
	resources, err := c.Client.Discovery().ServerResourcesForGroupVersion(testcluster.ConstraintGroup + "/v1beta1")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range resources.APIResources {
		kinds = append(kinds, r.Kind+"/"+r.Name)
	}
	if diff := cmp.Diff([]string{"K8sDenyHostPID/k8sdenyhostpid", "K8sDenyHostPID/k8sdenyhostpid/status"}, kinds); diff != "" {
		t.Errorf("constraint resources (-want +got):\n%s", diff)
	}

	// What a reader lists back: every field threatcov reads, unpruned by the schemas.
	d, err := c.Dynamic()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		resource  schema.GroupVersionResource
		namespace string
		field     []string
		want      any
	}{
		{
			name:     "template rego",
			resource: schema.GroupVersionResource{Group: "templates.gatekeeper.sh", Version: "v1", Resource: "constrainttemplates"},
			field:    []string{"spec", "targets"},
			want: []any{map[string]any{
				"target": "admission.k8s.gatekeeper.sh",
				"rego":   "package k8sdenyhostpid\nviolation[{\"msg\": \"hostPID is not allowed\"}] {\n  input.review.object.spec.hostPID\n}\n",
			}},
		},
		{
			name:     "constraint parameters",
			resource: schema.GroupVersionResource{Group: testcluster.ConstraintGroup, Version: "v1", Resource: "k8sdenyhostpid"},
			field:    []string{"spec", "parameters"},
			want:     map[string]any{"exemptImages": []any{"registry.k8s.io/pause:3.10"}},
		},
		{
			name:     "constraint enforcement action",
			resource: schema.GroupVersionResource{Group: testcluster.ConstraintGroup, Version: "v1alpha1", Resource: "k8sdenyhostpid"},
			field:    []string{"spec", "enforcementAction"},
			want:     "deny",
		},
		{
			name:     "kyverno cluster policy action",
			resource: schema.GroupVersionResource{Group: "kyverno.io", Version: "v1", Resource: "clusterpolicies"},
			field:    []string{"spec", "validationFailureAction"},
			want:     "Enforce",
		},
		{
			name:      "kyverno policy rule",
			resource:  schema.GroupVersionResource{Group: "kyverno.io", Version: "v1", Resource: "policies"},
			namespace: "kyverno-team",
			field:     []string{"spec", "rules"},
			want: []any{map[string]any{
				"name":  "host-pid",
				"match": map[string]any{"any": []any{map[string]any{"resources": map[string]any{"kinds": []any{"Pod"}}}}},
				"validate": map[string]any{
					"failureAction": "Audit",
					"message":       "hostPID is audited",
					"pattern":       map[string]any{"spec": map[string]any{"=(hostPID)": "false"}},
				},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := d.Resource(tt.resource).Namespace(tt.namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Items) != 1 {
				t.Fatalf("listed %d %s, want 1", len(list.Items), tt.resource.Resource)
			}
			got, _, err := unstructured.NestedFieldNoCopy(list.Items[0].Object, tt.field...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%v (-want +got):\n%s", tt.field, diff)
			}
		})
	}
}
