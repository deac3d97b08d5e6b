package cluster

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var pods = schema.GroupResource{Resource: "pods"}

// vapError builds the error the API server returns for a ValidatingAdmissionPolicy denial,
// following apiserver/pkg/admission/plugin/policy/validating/dispatcher.go: a Forbidden
// error whose reason and code are then replaced by the validation's reason.
func vapError(message string, reason metav1.StatusReason, code int32) error {
	err := apierrors.NewForbidden(pods, "p", errors.New(message))
	err.ErrStatus.Reason = reason
	err.ErrStatus.Code = code
	err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Message: message})
	return err
}

// webhookError follows apiserver/pkg/admission/plugin/webhook/errors/statuserror.go.
func webhookError(name string, code int32, message string) error {
	msg := fmt.Sprintf("admission webhook %q denied the request", name)
	if message == "" {
		msg += " without explanation"
	} else {
		msg += ": " + message
	}
	return &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: code, Message: msg}}
}

func TestClassifyDryRunError(t *testing.T) {
	type result struct {
		Denied  bool
		By      string
		Message string
	}
	psa := apierrors.NewForbidden(pods, "p",
		errors.New(`violates PodSecurity "baseline:latest": host namespaces (hostPID=true)`))
	vapMessage := "ValidatingAdmissionPolicy 'deny-hostpid' with binding 'deny-hostpid' denied request: hostPID is not allowed"
	gatekeeper := webhookError("validation.gatekeeper.sh", http.StatusForbidden, "[psp-host-namespace] Sharing the host namespace is not allowed: p")

	tests := []struct {
		name string
		err  error
		want result
	}{
		{name: "admitted", err: nil, want: result{}},
		{
			name: "pod security",
			err:  psa,
			want: result{true, DeniedByPodSecurity, `pods "p" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostPID=true)`},
		},
		{
			name: "pod security wrapped by the caller",
			err:  fmt.Errorf("probe host-pid: %w", psa),
			want: result{true, DeniedByPodSecurity, `pods "p" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostPID=true)`},
		},
		{
			name: "pod security on generateName create",
			err:  apierrors.NewForbidden(pods, "", errors.New(`violates PodSecurity "restricted:v1.37": runAsNonRoot != true`)),
			want: result{true, DeniedByPodSecurity, `pods is forbidden: violates PodSecurity "restricted:v1.37": runAsNonRoot != true`},
		},
		{
			name: "pod security without a message",
			err:  apierrors.NewForbidden(pods, "p", errors.New("Not allowed by PodSecurity")),
			want: result{true, DeniedByPodSecurity, `pods "p" is forbidden: Not allowed by PodSecurity`},
		},
		{
			name: "validating admission policy with default reason Invalid",
			err:  vapError(vapMessage, metav1.StatusReasonInvalid, http.StatusUnprocessableEntity),
			want: result{true, DeniedByValidatingAdmissionPolicy, `pods "p" is forbidden: ` + vapMessage},
		},
		{
			name: "validating admission policy with reason Forbidden",
			err:  vapError(vapMessage, metav1.StatusReasonForbidden, http.StatusForbidden),
			want: result{true, DeniedByValidatingAdmissionPolicy, `pods "p" is forbidden: ` + vapMessage},
		},
		{
			name: "validating admission policy without binding",
			err:  vapError("ValidatingAdmissionPolicy 'p' denied request: failed expression: !object.spec.hostPID", metav1.StatusReasonInvalid, http.StatusUnprocessableEntity),
			want: result{true, DeniedByValidatingAdmissionPolicy, `pods "p" is forbidden: ValidatingAdmissionPolicy 'p' denied request: failed expression: !object.spec.hostPID`},
		},
		{
			name: "gatekeeper webhook",
			err:  gatekeeper,
			want: result{true, DeniedByWebhook, `admission webhook "validation.gatekeeper.sh" denied the request: [psp-host-namespace] Sharing the host namespace is not allowed: p`},
		},
		{
			name: "webhook without explanation",
			err:  webhookError("validate.kyverno.svc-fail", http.StatusBadRequest, ""),
			want: result{true, DeniedByWebhook, `admission webhook "validate.kyverno.svc-fail" denied the request without explanation`},
		},
		{
			name: "missing service account",
			err: apierrors.NewForbidden(pods, "p",
				errors.New(`error looking up service account ns/default: serviceaccount "default" not found`)),
			want: result{false, "", `pods "p" is forbidden: error looking up service account ns/default: serviceaccount "default" not found`},
		},
		{
			name: "rbac",
			err: apierrors.NewForbidden(pods, "",
				errors.New(`User "limited" cannot create resource "pods" in API group "" in the namespace "ns"`)),
			want: result{false, "", `pods is forbidden: User "limited" cannot create resource "pods" in API group "" in the namespace "ns"`},
		},
		{
			name: "rbac for a user named like a denial",
			err: apierrors.NewForbidden(pods, "",
				errors.New(`User "x: violates PodSecurity \"baseline:latest\": " cannot create resource "pods" in API group "" in the namespace "ns"`)),
			want: result{false, "", `pods is forbidden: User "x: violates PodSecurity \"baseline:latest\": " cannot create resource "pods" in API group "" in the namespace "ns"`},
		},
		{
			name: "schema validation",
			err: apierrors.NewInvalid(schema.GroupKind{Kind: "Pod"}, "p",
				field.ErrorList{field.Required(field.NewPath("spec", "containers"), "")}),
			want: result{false, "", `Pod "p" is invalid: spec.containers: Required value`},
		},
		{
			name: "webhook not reachable",
			err:  apierrors.NewInternalError(errors.New(`failed calling webhook "validation.gatekeeper.sh": connection refused`)),
			want: result{false, "", `Internal error occurred: failed calling webhook "validation.gatekeeper.sh": connection refused`},
		},
		{
			name: "webhook without dry-run support",
			err:  apierrors.NewBadRequest(`admission webhook "sidecar.example.com" does not support dry run`),
			want: result{false, "", `admission webhook "sidecar.example.com" does not support dry run`},
		},
		{
			name: "resource quota",
			err:  apierrors.NewForbidden(pods, "p", errors.New("exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1")),
			want: result{false, "", `pods "p" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1`},
		},
		{
			name: "namespace missing",
			err:  apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "ns"),
			want: result{false, "", `namespaces "ns" not found`},
		},
		{
			name: "transport error",
			err:  errors.New("dial tcp 127.0.0.1:6443: connect: connection refused"),
			want: result{false, "", "dial tcp 127.0.0.1:6443: connect: connection refused"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got result
			got.Denied, got.By, got.Message = ClassifyDryRunError(tt.err)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ClassifyDryRunError() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
