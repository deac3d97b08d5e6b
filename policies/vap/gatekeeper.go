package vap

import (
	"context"
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

// EngineK8sNativeValidation is the code[].engine of Gatekeeper's CEL templates.
const EngineK8sNativeValidation = "K8sNativeValidation"

// Gatekeeper's reserved names (pkg/drivers/k8scel/schema): no user variable or match
// condition may take them.
const (
	gatekeeperReservedPrefix = "gatekeeper_internal_"
	gatekeeperParams         = "params"
	gatekeeperAnyObject      = "anyObject"
)

// gatekeeperVariables are the variables Gatekeeper's k8scel driver declares before the
// template's own (transform.AllVariablesCEL): anyObject is the object, or the old object of
// a DELETE; params is the Constraint's spec.parameters.
var gatekeeperVariables = []*validating.Variable{
	{Name: gatekeeperAnyObject, Expression: `has(request.operation) && request.operation == "DELETE" && object == null ? oldObject : object`},
	{Name: gatekeeperParams, Expression: "!has(params.spec) ? null : !has(params.spec.parameters) ? null: params.spec.parameters"},
}

// Template is a compiled Gatekeeper K8sNativeValidation source. It is immutable and safe for
// concurrent use.
type Template struct {
	kind          string
	validator     validating.Validator
	failurePolicy admissionregistrationv1.FailurePolicyType
	validations   int
}

// NewTemplate compiles the K8sNativeValidation source of a ConstraintTemplate (the value of
// code[].source) as Gatekeeper's k8scel driver does. field is the source's path in the
// template ("spec.targets.0.code.0.source"), so CompileErrors name the template's fields.
// A missing failurePolicy is Fail, Gatekeeper's default.
func NewTemplate(kind string, source map[string]any, field string) (*Template, error) {
	var src struct {
		Validations []struct {
			Expression        string `json:"expression,omitempty"`
			Message           string `json:"message,omitempty"`
			MessageExpression string `json:"messageExpression,omitempty"`
		} `json:"validations,omitempty"`
		FailurePolicy   *string `json:"failurePolicy,omitempty"`
		MatchConditions []struct {
			Name       string `json:"name"`
			Expression string `json:"expression"`
		} `json:"matchCondition,omitempty"` // sic: Gatekeeper's field name
		Variables []struct {
			Name       string `json:"name,omitempty"`
			Expression string `json:"expression,omitempty"`
		} `json:"variables,omitempty"`
		GenerateVAP *bool `json:"generateVAP,omitempty"`
	}
	if err := decode(source, &src); err != nil {
		return nil, fmt.Errorf("%s: %w", fieldIndex(field), err)
	}
	fp := admissionregistrationv1.Fail
	if src.FailurePolicy != nil {
		switch admissionregistrationv1.FailurePolicyType(*src.FailurePolicy) {
		case admissionregistrationv1.Fail, admissionregistrationv1.Ignore:
			fp = admissionregistrationv1.FailurePolicyType(*src.FailurePolicy)
		default:
			return nil, CompileErrors{{Field: field + ".failurePolicy", Message: fmt.Sprintf("unrecognized failure policy %q: use Fail or Ignore", *src.FailurePolicy)}}
		}
	}
	var errs CompileErrors
	for i, mc := range src.MatchConditions {
		if strings.HasPrefix(mc.Name, gatekeeperReservedPrefix) {
			errs = append(errs, &CompileError{Field: fmt.Sprintf("%s.matchCondition.%d.name", field, i), Message: fmt.Sprintf("%s is not a valid match condition; cannot have %q as a prefix", mc.Name, gatekeeperReservedPrefix)})
		}
	}
	for i, v := range src.Variables {
		if strings.HasPrefix(v.Name, gatekeeperReservedPrefix) || v.Name == gatekeeperParams || v.Name == gatekeeperAnyObject {
			errs = append(errs, &CompileError{Field: fmt.Sprintf("%s.variables.%d.name", field, i), Message: fmt.Sprintf("%s is a reserved variable name in Gatekeeper (%s, %s and the %s prefix are)", v.Name, gatekeeperParams, gatekeeperAnyObject, gatekeeperReservedPrefix)})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	s := spec{
		// Only the driver's own variables may read params (the whole Constraint); templates
		// see variables.params.
		varOpts:       plugincel.OptionalVariableDeclarations{HasParams: true},
		failurePolicy: &fp,
		matcherKind:   "validatingadmissionpolicy",
		name:          strings.ToLower(kind),
	}
	for i, v := range gatekeeperVariables {
		s.variables = append(s.variables, variable{field: fmt.Sprintf("(Gatekeeper's variable %d)", i), accessor: v})
	}
	for i, v := range src.Variables {
		s.variables = append(s.variables, variable{field: fmt.Sprintf("%s.variables.%d.expression", field, i),
			accessor: &validating.Variable{Name: v.Name, Expression: v.Expression}})
	}
	for i, mc := range src.MatchConditions {
		s.matchConditions = append(s.matchConditions, expression{field: fmt.Sprintf("%s.matchCondition.%d.expression", field, i),
			accessor: &matchconditions.MatchCondition{Name: mc.Name, Expression: mc.Expression}})
	}
	for i, v := range src.Validations {
		s.validations = append(s.validations, expression{field: fmt.Sprintf("%s.validations.%d.expression", field, i),
			accessor: &validating.ValidationCondition{Expression: v.Expression, Message: v.Message}})
		m := expression{field: fmt.Sprintf("%s.validations.%d.messageExpression", field, i)}
		if v.MessageExpression != "" {
			m.accessor = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
		s.messages = append(s.messages, m)
	}
	v, err := compile(s)
	if err != nil {
		return nil, err
	}
	return &Template{kind: kind, validator: v, failurePolicy: fp, validations: len(src.Validations)}, nil
}

// Evaluate runs the template for one Constraint (the whole object: the driver reads its
// spec.parameters) on req, as Gatekeeper's k8scel driver does: the Constraint is the params
// object, the request's namespace is namespaceObject, and every denying decision is a
// violation. The Constraint's spec.match is the caller's to apply first.
func (t *Template) Evaluate(ctx context.Context, constraint map[string]any, req Request) Result {
	var res Result
	attr, err := req.attributes()
	if err != nil {
		res.countError(t.failurePolicy, "request", err.Error())
		return res
	}
	// Gatekeeper clears the object of a DELETE, as the API server does for policies.
	if attr.GetOperation() == admission.Delete && req.OldObject != nil {
		r := req
		r.Object = nil
		if attr, err = r.attributes(); err != nil {
			res.countError(t.failurePolicy, "request", err.Error())
			return res
		}
	}
	versioned, err := admission.NewVersionedAttributes(attr, attr.GetKind(), objectInterfaces)
	if err != nil {
		res.countError(t.failurePolicy, "request", err.Error())
		return res
	}
	res.add(t.validator.Validate(ctx, attr.GetResource(), versioned, &unstructured.Unstructured{Object: constraint},
		req.Namespace.object(), celconfig.PerCallLimit, nil), t.failurePolicy, t.validations)
	return res
}
