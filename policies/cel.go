package policies

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies/vap"
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

// The user a probe is sent as: an authenticated user with no special group, as in the
// Gatekeeper review.
const (
	probeUsername = "threatcov-probe"
	probeGroup    = "system:authenticated"
)

// controllerUsers are the service accounts whose controllers create a workload's Pods (via
// the ReplicaSet of a Deployment, the Job of a CronJob): the Pod reaches admission as theirs,
// not the attacker's.
var controllerUsers = map[string]string{
	"Deployment": "replicaset-controller", "ReplicaSet": "replicaset-controller",
	"StatefulSet": "statefulset-controller", "DaemonSet": "daemon-set-controller",
	"Job": "job-controller", "CronJob": "job-controller",
	"ReplicationController": "replication-controller",
}

// celRequest is the admission request a probe (pod=false) or the Pod its workload's
// controller creates (pod=true) makes, as CEL admission policies see it.
func celRequest(probe mapping.Probe, in *probeInput, pod bool) vap.Request {
	user := vap.UserInfo{Username: probeUsername, Groups: []string{probeGroup}}
	req := vap.Request{Operation: probe.Operation, SubResource: probe.SubResource, Object: in.object, User: user}
	r := in.objectRequest
	if pod {
		req = vap.Request{Operation: "CREATE", Object: in.pod}
		r = in.podRequest
		sa := controllerUsers[str(in.object, "kind")]
		req.User = vap.UserInfo{
			Username: "system:serviceaccount:kube-system:" + sa,
			Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:kube-system", probeGroup},
		}
	} else if in.base != nil && in.base.old != nil {
		req.OldObject = placeInNamespace(in.base.old, r.namespace)
	}
	if !r.clusterScoped() && r.namespace != "" {
		req.Namespace = &vap.Namespace{Name: r.namespace, Labels: r.nsLabels}
	}
	return req
}

// evalCEL runs a ValidatingAdmissionPolicy binding or a Gatekeeper CEL constraint on the
// probe (or the Pod of its workload). Runtime errors have been counted by failurePolicy in
// the verdict; the messages say so.
func (e *Evaluator) evalCEL(ctx context.Context, p *Policy, probe mapping.Probe, in *probeInput, pod bool) result {
	if pod && in.pod == nil {
		return result{verdict: VerdictNotApplicable}
	}
	c := p.exec.cel
	req := celRequest(probe, in, pod)
	var r vap.Result
	if c.template != nil {
		rq := in.objectRequest
		if pod {
			rq = in.podRequest
		}
		ok, err := matches(p.exec.match, rq)
		if err != nil {
			return result{verdict: VerdictError, err: fmt.Sprintf("%s: spec.match: %v", p.Source, err)}
		}
		if !ok {
			return result{verdict: VerdictNotApplicable}
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
