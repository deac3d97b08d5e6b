package vap

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"
)

// CompileError is a CEL expression that does not compile, with the field that holds it.
type CompileError struct {
	// Field is the expression's path in the object, dotted with indexes as numbers
	// ("spec.validations.0.expression"), the form file readers record lines under.
	Field string
	// Line is the line within the expression where CEL places the error (1-based; 0 when
	// CEL gives none).
	Line    int
	Message string
}

func (e *CompileError) Error() string { return fieldIndex(e.Field) + ": " + e.Message }

// CompileErrors is every expression of a policy that does not compile.
type CompileErrors []*CompileError

func (es CompileErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// baseEnv is the API server's CEL environment at its default compatibility version, built
// once (it is large).
var baseEnv = sync.OnceValue(func() *environment.EnvSet {
	return environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion())
})

// expression is one CEL expression to compile, with the field that holds it.
type expression struct {
	field    string
	accessor plugincel.ExpressionAccessor // nil: a validation without messageExpression
}

// variable is a named expression (spec.variables).
type variable struct {
	field    string
	accessor plugincel.NamedExpressionAccessor
}

// spec is what a validator is compiled from: a ValidatingAdmissionPolicy's CEL, or a
// K8sNativeValidation source turned into the same shape by Gatekeeper's rules.
type spec struct {
	variables       []variable
	matchConditions []expression
	validations     []expression
	messages        []expression // one per validation, nil accessor where it has none
	audits          []expression
	// The variables each kind of expression may use: params, authorizer.
	varOpts, condOpts, msgOpts plugincel.OptionalVariableDeclarations
	failurePolicy              *admissionregistrationv1.FailurePolicyType
	matcherKind                string // for the API server's match condition errors
	name                       string
}

// compile builds the API server's validator for s, as the API server's compilePolicy does
// (and Gatekeeper's k8scel driver, which copies it), after compiling each expression alone
// to report every one that fails with its field: the validator itself would only turn them
// into runtime errors.
func compile(s spec) (validating.Validator, error) {
	compiler, err := plugincel.NewCompositedCompiler(baseEnv())
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	var errs CompileErrors
	check := func(field string, r plugincel.CompilationResult) {
		if r.Error == nil {
			return
		}
		ce := &CompileError{Field: field, Message: r.Error.Detail}
		ce.Line = issueLine(r.Error.Detail)
		errs = append(errs, ce)
	}
	for _, v := range s.variables {
		check(v.field, compiler.CompileAndStoreVariable(v.accessor, s.varOpts, environment.StoredExpressions))
	}
	for _, group := range []struct {
		es   []expression
		opts plugincel.OptionalVariableDeclarations
	}{{s.matchConditions, s.condOpts}, {s.validations, s.condOpts}, {s.messages, s.msgOpts}, {s.audits, s.condOpts}} {
		for _, e := range group.es {
			if e.accessor != nil {
				check(e.field, compiler.CompileCELExpression(e.accessor, group.opts, environment.StoredExpressions))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	accessors := func(es []expression) []plugincel.ExpressionAccessor {
		out := make([]plugincel.ExpressionAccessor, len(es))
		for i, e := range es {
			out[i] = e.accessor
		}
		return out
	}
	var matcher matchconditions.Matcher
	if len(s.matchConditions) > 0 {
		matcher = matchconditions.NewMatcher(compiler.CompileCondition(accessors(s.matchConditions), s.condOpts, environment.StoredExpressions), s.failurePolicy, s.matcherKind, "validate", s.name)
	}
	return validating.NewValidator(
		compiler.CompileCondition(accessors(s.validations), s.condOpts, environment.StoredExpressions),
		matcher,
		compiler.CompileCondition(accessors(s.audits), s.condOpts, environment.StoredExpressions),
		compiler.CompileCondition(accessors(s.messages), s.msgOpts, environment.StoredExpressions),
		s.failurePolicy,
		nil,
	), nil
}

// issueLine reads the first line number CEL prints in a compilation issue
// ("ERROR: <input>:2:14: undeclared reference to 'x'").
func issueLine(detail string) int {
	const marker = "<input>:"
	i := strings.Index(detail, marker)
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range detail[i+len(marker):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// ExpressionLine maps a CompileError to a line of the file the policy came from: lines maps
// dotted field paths to where each string value starts (as policies.Object.Lines does), and
// the error's line within a multi-line expression is added.
func ExpressionLine(e *CompileError, lines map[string]int) int {
	l := lines[e.Field]
	if l == 0 {
		return 0
	}
	if e.Line > 1 {
		l += e.Line - 1
	}
	return l
}

// fieldIndex turns "spec.validations.0.expression" into "spec.validations[0].expression" for
// messages.
func fieldIndex(field string) string {
	parts := strings.Split(field, ".")
	var b strings.Builder
	for i, p := range parts {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteString(".")
		}
		b.WriteString(p)
	}
	return b.String()
}
