package cluster

import (
	"errors"
	"regexp"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The admission mechanisms ClassifyDryRunError can name as the denier.
const (
	// DeniedByPodSecurity is the built-in Pod Security admission controller (namespace
	// labels pod-security.kubernetes.io/enforce).
	DeniedByPodSecurity = "PodSecurity"
	// DeniedByValidatingAdmissionPolicy is an in-process CEL ValidatingAdmissionPolicy
	// whose binding has validationActions [Deny].
	DeniedByValidatingAdmissionPolicy = "ValidatingAdmissionPolicy"
	// DeniedByWebhook is a validating (or mutating) admission webhook that answered
	// allowed: false, e.g. Gatekeeper or Kyverno.
	DeniedByWebhook = "AdmissionWebhook"
)

// Why the status message and not the code or reason: the three denials and the errors they
// must be told apart from share codes. Pod Security and a missing ServiceAccount are both
// 403 Forbidden from admission.NewForbidden; RBAC is 403 Forbidden too; a
// ValidatingAdmissionPolicy answers with the reason its validation names (Invalid/422 by
// default, also Forbidden/403, Unauthorized/401, RequestEntityTooLarge/413), the same 422 as
// a schema validation error; a webhook answers with any code >= 400 it chooses (400 when it
// sets none). What differs is the message each denier formats, so the patterns below are
// copied from the formats in k8s.io/apiserver and k8s.io/pod-security-admission v0.37.2 and
// anchored at the start: RBAC messages quote user-chosen names (user, group) that could
// otherwise smuggle the phrase in.
var (
	// apierrors.NewForbidden: `<resource>[.<group>] ["<name>"] is forbidden: <cause>`, or
	// `forbidden: <cause>` when the resource is unknown.
	forbiddenPrefix = `^(?:[a-z0-9.-]+(?: "[^"]*")? is )?forbidden: `

	// pod-security-admission/admission/admission.go:
	// `violates PodSecurity "baseline:latest": host namespaces (hostPID=true)`, or the
	// fallback of kubernetes/plugin/pkg/admission/security/podsecurity when the evaluation
	// carries no message.
	podSecurityRE = regexp.MustCompile(forbiddenPrefix + `(?:violates PodSecurity "[^"]*": |Not allowed by PodSecurity$)`)

	// apiserver/pkg/admission/plugin/policy/validating/dispatcher.go:
	// `ValidatingAdmissionPolicy 'p' with binding 'b' denied request: <message>`.
	validatingPolicyRE = regexp.MustCompile(forbiddenPrefix +
		`ValidatingAdmissionPolicy '[^']*'(?: with binding '[^']*')? denied request: `)

	// apiserver/pkg/admission/plugin/webhook/errors/statuserror.go: `admission webhook
	// "name" denied the request: <message>` or `... denied the request without explanation`.
	// Not matched on purpose: `failed calling webhook "name"` (500, the webhook was not
	// reached) and `admission webhook "name" does not support dry run` (400, the webhook
	// declares side effects: only configurations kept from before admissionregistration/v1
	// required None or NoneOnDryRun): neither is a decision about the object.
	webhookRE = regexp.MustCompile(`^admission webhook "[^"]*" denied the request(?::| without explanation)`)
)

// ClassifyDryRunError reports whether err, returned by a server-side dry-run (dryRun=All)
// create or update, is a denial by admission policy. When denied, by is one of the
// DeniedBy constants and message is the API server's message, which names the policy (PSA
// level, VAP and binding names, webhook name) and its reason. When not denied, by is "" and
// message is err's text (empty for a nil err): the request was admitted (nil err) or failed
// for a reason that says nothing about the policies, such as:
//
//   - a missing ServiceAccount: 403 Forbidden, `pods "p" is forbidden: error looking up
//     service account ns/default: serviceaccount "default" not found`;
//   - RBAC: 403 Forbidden, `pods is forbidden: User "u" cannot create resource "pods" ...`;
//   - schema validation: 422 Invalid, `Pod "p" is invalid: spec.containers: Required value`;
//   - a webhook that failed or cannot dry-run: 500 `failed calling webhook "w"`, 400
//     `admission webhook "w" does not support dry run`;
//   - ResourceQuota, LimitRanger or NamespaceLifecycle refusals, and transport errors.
//
// Only errors carrying a Kubernetes Status (apierrors.APIStatus, possibly wrapped) can be
// denials.
func ClassifyDryRunError(err error) (denied bool, by string, message string) {
	if err == nil {
		return false, "", ""
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return false, "", err.Error()
	}
	s := status.Status()
	if s.Status == metav1.StatusSuccess {
		return false, "", err.Error()
	}
	switch {
	case s.Reason == metav1.StatusReasonForbidden && podSecurityRE.MatchString(s.Message):
		return true, DeniedByPodSecurity, s.Message
	case validatingPolicyRE.MatchString(s.Message):
		return true, DeniedByValidatingAdmissionPolicy, s.Message
	case s.Code >= 400 && webhookRE.MatchString(s.Message):
		return true, DeniedByWebhook, s.Message
	}
	return false, "", err.Error()
}
