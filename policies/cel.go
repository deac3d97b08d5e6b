package policies

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/threatcov/threatcov/policies/vap"
	"github.com/threatcov/threatcov/probes"
)

// celSpec is what the Evaluator needs to run a CEL admission policy (package vap): a
// ValidatingAdmissionPolicy with one binding and the param objects, or a Gatekeeper
// K8sNativeValidation template with one Constraint (its match is execSpec.match).
type celSpec struct {
	policy  *vap.Policy
	binding *vap.Binding
	params  *vap.Params

	template   *vap.Template
	constraint map[string]any
}

// celRequest is the admission request a probe, the Pod its workload's controller creates, or
// Gatekeeper's expansion of it makes, as CEL admission policies see it.
func celRequest(probe probes.Probe, in *probeInput, which requestKind) vap.Request {
	var req vap.Request
	var r request
	switch which {
	case reqPod:
		req, r = vap.Request{Operation: "CREATE", Object: in.pod}, in.podRequest
	case reqExpanded:
		req, r = vap.Request{Operation: "CREATE", Object: in.expanded}, in.expandedRequest
	default:
		req, r = vap.Request{Operation: probe.Operation, SubResource: probe.SubResource, Object: in.admitted}, in.objectRequest
		if in.base != nil && in.base.old != nil {
			req.OldObject = probes.Place(in.base.old, r.namespace)
		}
	}
	req.User = vap.UserInfo{Username: r.user.Username, Groups: r.user.Groups}
	if !r.clusterScoped() && r.namespace != "" {
		req.Namespace = &vap.Namespace{Name: r.namespace, Labels: r.nsLabels}
	}
	return req
}

// evalCEL runs a ValidatingAdmissionPolicy binding or a Gatekeeper CEL constraint on the
// probe (or the Pod of its workload). Runtime errors have been counted by failurePolicy in
// the verdict; the messages say so.
func (e *Evaluator) evalCEL(ctx context.Context, p *Policy, probe probes.Probe, in *probeInput, which requestKind) result {
	if which != reqObject && in.pod == nil || which == reqExpanded && in.expanded == nil {
		return result{verdict: VerdictNotApplicable}
	}
	c := p.exec.cel
	req := celRequest(probe, in, which)
	var r vap.Result
	if c.template != nil {
		rq, _ := in.request(which)
		if skip, ok := e.gatekeeperSkips(p, rq); ok {
			return skip
		}
		r = c.template.Evaluate(ctx, c.constraint, req)
	} else {
		r = c.policy.Evaluate(ctx, c.binding, c.params, req)
	}
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return result{verdict: VerdictError, err: fmt.Sprintf("%s: policy %s exceeded the %s evaluation time limit; fix or remove it", p.Source, p.ID, e.timeout)}
		}
		return result{verdict: VerdictError, err: fmt.Sprintf("%s: evaluation of policy %s cancelled", p.Source, p.ID)}
	}
	switch r.Verdict {
	case vap.Denied:
		return result{verdict: VerdictDenied, messages: r.Messages}
	case vap.NotApplicable:
		return result{verdict: VerdictNotApplicable}
	default:
		return result{verdict: VerdictAdmitted, messages: r.Errors}
	}
}

// celCompileError turns a vap compile error into the user's file:line error naming the
// policy.
func celCompileError(o Object, what string, err error) error {
	var ces vap.CompileErrors
	if !errors.As(err, &ces) {
		return fmt.Errorf("%w: %s: %s: %v; fix the object", ErrInput, o.Source, what, err)
	}
	var errs []error
	for _, ce := range ces {
		loc := o.Source
		if l := vap.ExpressionLine(ce, o.Lines); l > 0 {
			loc.Line = l
		}
		errs = append(errs, fmt.Errorf("%w: %s: %s: %v; fix the CEL expression", ErrInput, loc, what, ce))
	}
	return errors.Join(errs...)
}

// celParams are the objects of the inventory that are not policies, offered to
// ValidatingAdmissionPolicies as the params their paramKind names.
func celParams(objs []Object) *vap.Params {
	list := make([]map[string]any, 0, len(objs))
	for _, o := range objs {
		list = append(list, o.Object)
	}
	return vap.NewParams(list)
}

// sortedKeys returns m's keys in order, so policies compile and report errors in a stable
// order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
