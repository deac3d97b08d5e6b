package vap

import (
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
)

// Verdict is what a policy's logic says about one request, independent of what its binding
// or constraint does with a denial.
type Verdict string

const (
	Denied        Verdict = "denied"
	Admitted      Verdict = "admitted"
	NotApplicable Verdict = "not-applicable" // excluded by match constraints or conditions
)

// Result is the outcome of one policy (with one binding, or one constraint) on one request.
type Result struct {
	Verdict Verdict
	// Messages say why the request is denied: one per failed validation (its message,
	// messageExpression or expression, as the API server chooses), and one per error that
	// failurePolicy Fail turns into a denial, saying so.
	Messages []string
	// Errors are the runtime and configuration errors met (a missing field, the cost budget,
	// a param that cannot be found), each saying how failurePolicy counted it.
	Errors []string
	// Actions are the binding's validationActions (ValidatingAdmissionPolicy only).
	Actions []string
}

// failurePolicy returns the effective failure policy (the API server's default is Fail).
func failurePolicy(f *admissionregistrationv1.FailurePolicyType) admissionregistrationv1.FailurePolicyType {
	if f == nil {
		return admissionregistrationv1.Fail
	}
	return *f
}

// countError records an error as failurePolicy counts it: Fail denies, Ignore admits.
func (r *Result) countError(f admissionregistrationv1.FailurePolicyType, what string, err string) {
	switch f {
	case admissionregistrationv1.Ignore:
		if r.Verdict == "" || r.Verdict == NotApplicable {
			r.Verdict = Admitted
		}
		r.Errors = append(r.Errors, fmt.Sprintf("%s: %s (failurePolicy Ignore: the API server admits the request)", what, err))
	default:
		msg := fmt.Sprintf("%s: %s (failurePolicy %s: the API server denies the request)", what, err, f)
		r.Errors = append(r.Errors, msg)
		r.Messages = append(r.Messages, msg)
		r.Verdict = Denied
	}
}

// add folds the validator's decisions into r, as the API server's dispatcher reads them. A
// validator that has validations but returns no decision was stopped by its matchConditions:
// the policy does not apply (the API server admits without saying so).
func (r *Result) add(res validating.ValidateResult, f admissionregistrationv1.FailurePolicyType, validations int) {
	if len(res.Decisions) == 0 && len(res.AuditAnnotations) == 0 && validations > 0 {
		if r.Verdict == "" {
			r.Verdict = NotApplicable
		}
		return
	}
	if r.Verdict == NotApplicable || r.Verdict == "" {
		r.Verdict = Admitted
	}
	for _, d := range res.Decisions {
		switch {
		case d.Evaluation == validating.EvalError:
			r.countError(f, "runtime error", d.Message)
		case d.Action == validating.ActionDeny:
			r.Verdict = Denied
			r.Messages = append(r.Messages, d.Message)
		}
	}
	for _, a := range res.AuditAnnotations {
		if a.Action == validating.AuditAnnotationActionError {
			// The dispatcher denies on an audit annotation error whatever the failure policy
			// (an Ignore policy's errors arrive as Exclude instead).
			r.Verdict = Denied
			msg := fmt.Sprintf("audit annotation %s: %s", a.Key, a.Error)
			r.Messages = append(r.Messages, msg)
			r.Errors = append(r.Errors, msg+" (the API server denies the request)")
		}
	}
}
