package vap

import (
	"context"
	"fmt"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/generic"
	"k8s.io/apiserver/pkg/admission/plugin/policy/matching"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/client-go/tools/cache"
)

// Policy is a compiled ValidatingAdmissionPolicy. It is immutable and safe for concurrent use.
type Policy struct {
	def       *admissionregistrationv1.ValidatingAdmissionPolicy
	validator validating.Validator
}

// Binding is a decoded ValidatingAdmissionPolicyBinding.
type Binding struct {
	b *admissionregistrationv1.ValidatingAdmissionPolicyBinding
}

// decode converts a JSON-shaped object into a typed one, refusing fields the type does not
// have (the API server's strict field validation, kubectl's default).
func decode(obj map[string]any, into any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, into, true)
}

// NewPolicy decodes a ValidatingAdmissionPolicy, applies the API server's defaults
// (failurePolicy Fail, matchPolicy Equivalent, empty selectors, rule scope "*") and compiles
// its CEL. A policy whose expressions do not compile returns CompileErrors.
func NewPolicy(obj map[string]any) (*Policy, error) {
	def := &admissionregistrationv1.ValidatingAdmissionPolicy{}
	if err := decode(obj, def); err != nil {
		return nil, err
	}
	defaultPolicy(def)
	hasParams := def.Spec.ParamKind != nil
	s := spec{
		varOpts:       plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true},
		condOpts:      plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: true},
		msgOpts:       plugincel.OptionalVariableDeclarations{HasParams: hasParams, HasAuthorizer: false},
		failurePolicy: def.Spec.FailurePolicy,
		matcherKind:   "policy",
		name:          def.Name,
	}
	for i, v := range def.Spec.Variables {
		s.variables = append(s.variables, variable{field: fmt.Sprintf("spec.variables.%d.expression", i),
			accessor: &validating.Variable{Name: v.Name, Expression: v.Expression}})
	}
	for i := range def.Spec.MatchConditions {
		s.matchConditions = append(s.matchConditions, expression{field: fmt.Sprintf("spec.matchConditions.%d.expression", i),
			accessor: (*matchconditions.MatchCondition)(&def.Spec.MatchConditions[i])})
	}
	for i, v := range def.Spec.Validations {
		s.validations = append(s.validations, expression{field: fmt.Sprintf("spec.validations.%d.expression", i),
			accessor: &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}})
		m := expression{field: fmt.Sprintf("spec.validations.%d.messageExpression", i)}
		if v.MessageExpression != "" {
			m.accessor = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
		s.messages = append(s.messages, m)
	}
	for i, a := range def.Spec.AuditAnnotations {
		s.audits = append(s.audits, expression{field: fmt.Sprintf("spec.auditAnnotations.%d.valueExpression", i),
			accessor: &validating.AuditAnnotationCondition{Key: a.Key, ValueExpression: a.ValueExpression}})
	}
	v, err := compile(s)
	if err != nil {
		return nil, err
	}
	return &Policy{def: def, validator: v}, nil
}

// Name is the policy's metadata.name.
func (p *Policy) Name() string { return p.def.Name }

// FailurePolicy is the policy's failurePolicy after defaulting.
func (p *Policy) FailurePolicy() string { return string(failurePolicy(p.def.Spec.FailurePolicy)) }

// ParamKind is the policy's paramKind as apiVersion and kind, empty when it takes none.
func (p *Policy) ParamKind() (apiVersion, kind string) {
	if pk := p.def.Spec.ParamKind; pk != nil {
		return pk.APIVersion, pk.Kind
	}
	return "", ""
}

// NewBinding decodes a ValidatingAdmissionPolicyBinding and applies the API server's defaults
// to its matchResources.
func NewBinding(obj map[string]any) (*Binding, error) {
	b := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	if err := decode(obj, b); err != nil {
		return nil, err
	}
	if b.Spec.MatchResources != nil {
		defaultMatchResources(b.Spec.MatchResources)
	}
	return &Binding{b: b}, nil
}

// Name is the binding's metadata.name.
func (b *Binding) Name() string { return b.b.Name }

// Actions are the binding's validationActions.
func (b *Binding) Actions() []string {
	out := make([]string, len(b.b.Spec.ValidationActions))
	for i, a := range b.b.Spec.ValidationActions {
		out[i] = string(a)
	}
	return out
}

func defaultPolicy(p *admissionregistrationv1.ValidatingAdmissionPolicy) {
	if p.Spec.FailurePolicy == nil {
		f := admissionregistrationv1.Fail
		p.Spec.FailurePolicy = &f
	}
	if p.Spec.MatchConstraints != nil {
		defaultMatchResources(p.Spec.MatchConstraints)
	}
}

// defaultMatchResources is the API server's SetDefaults_MatchResources and SetDefaults_Rule.
func defaultMatchResources(m *admissionregistrationv1.MatchResources) {
	if m.MatchPolicy == nil {
		e := admissionregistrationv1.Equivalent
		m.MatchPolicy = &e
	}
	if m.NamespaceSelector == nil {
		m.NamespaceSelector = &metav1.LabelSelector{}
	}
	if m.ObjectSelector == nil {
		m.ObjectSelector = &metav1.LabelSelector{}
	}
	for _, rules := range [][]admissionregistrationv1.NamedRuleWithOperations{m.ResourceRules, m.ExcludeResourceRules} {
		for i := range rules {
			if rules[i].Scope == nil {
				s := admissionregistrationv1.AllScopes
				rules[i].Scope = &s
			}
		}
	}
}

// objectInterfaces: probes arrive in the version the policy matches, so nothing is converted
// and no equivalent resources are known (Kubernetes 1.37 serves one version of the built-in
// workload kinds).
var objectInterfaces = admission.NewObjectInterfacesFromScheme(runtime.NewScheme())

// Evaluate runs the policy with binding b on req, as the API server's validating admission
// policy dispatcher does for one binding: policy matchConstraints, binding matchResources,
// params (from params, the objects the cluster would hold), matchConditions, validations and
// audit annotations. A configuration error (a missing param with parameterNotFoundAction
// Deny, a bad selector) and a runtime error count per failurePolicy.
func (p *Policy) Evaluate(ctx context.Context, b *Binding, params *Params, req Request) Result {
	res := Result{Verdict: NotApplicable, Actions: b.Actions()}
	fp := failurePolicy(p.def.Spec.FailurePolicy)
	attr, err := req.attributes()
	if err != nil {
		res.countError(fp, "request", err.Error())
		return res
	}
	ns := req.Namespace.object()
	m := generic.NewPolicyMatcher(matching.NewMatcher(namespaceLister{ns}, nil))
	ok, gvr, gvk, err := m.DefinitionMatches(attr, objectInterfaces, validating.NewValidatingAdmissionPolicyAccessor(p.def))
	if err != nil {
		res.countError(fp, "failed to configure policy", err.Error())
		return res
	}
	if !ok {
		return res
	}
	ok, err = m.BindingMatches(attr, objectInterfaces, validating.NewValidatingAdmissionPolicyBindingAccessor(b.b))
	if err != nil {
		res.countError(fp, "failed to configure binding", err.Error())
		return res
	}
	if !ok {
		return res
	}
	informer, scope := params.informer(p.def.Spec.ParamKind)
	list, err := generic.CollectParams(p.def.Spec.ParamKind, informer, scope, b.b.Spec.ParamRef, attr.GetNamespace(), nil, nil)
	if err != nil {
		res.countError(fp, "failed to configure binding", err.Error())
		return res
	}
	versioned, err := admission.NewVersionedAttributes(attr, gvk, objectInterfaces)
	if err != nil {
		res.countError(fp, "failed to configure binding", "failed to convert object version: "+err.Error())
		return res
	}
	// The namespace object of a Namespace request is not handed to CEL (the dispatcher's
	// special case).
	if k := attr.GetKind(); k.Kind == "Namespace" && k.Group == "" {
		ns = nil
	}
	if len(list) == 0 {
		res.Verdict = Admitted
		res.Errors = append(res.Errors, "no param object found for the binding's paramRef (parameterNotFoundAction Allow): nothing is validated")
		return res
	}
	for _, param := range list {
		res.add(p.validator.Validate(ctx, gvr, versioned, param, ns, celconfig.RuntimeCELCostBudget, offlineAuthorizer{}), fp, len(p.def.Spec.Validations))
	}
	return res
}

// offlineAuthorizer answers the CEL authorizer variable: without a cluster there is no RBAC
// to consult, and a guess either way would be a verdict threatcov cannot stand behind.
type offlineAuthorizer struct{}

func (offlineAuthorizer) Authorize(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
	return authorizer.DecisionNoOpinion, "", fmt.Errorf("threatcov evaluates offline: no authorizer to consult")
}

// Params holds the objects a binding's paramRef may name, as a cluster would serve them. It
// is read-only after NewParams and safe for concurrent use.
type Params struct {
	byKind map[string]paramKind // by "apiVersion/kind"
}

type paramKind struct {
	informer staticInformer
	scope    meta.RESTScope
}

// namespacedParamKinds are built-in kinds commonly used as params, which are namespaced
// whether or not the inventory holds one.
var namespacedParamKinds = map[string]bool{"v1/ConfigMap": true, "v1/Secret": true}

// NewParams indexes param objects by apiVersion and kind, once for every evaluation.
func NewParams(objs []map[string]any) *Params {
	grouped := map[string][]*unstructured.Unstructured{}
	for _, o := range objs {
		u := &unstructured.Unstructured{Object: o}
		k := u.GetAPIVersion() + "/" + u.GetKind()
		grouped[k] = append(grouped[k], u)
	}
	p := &Params{byKind: map[string]paramKind{}}
	for k, list := range grouped {
		p.byKind[k] = newParamKind(k, list)
	}
	return p
}

// newParamKind serves the params of one kind to the API server's CollectParams: a lister over
// the objects, and an informer that reports itself synced (nothing else of it is used).
func newParamKind(key string, objs []*unstructured.Unstructured) paramKind {
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	namespaced := namespacedParamKinds[key]
	for _, o := range objs {
		_ = indexer.Add(o) // MetaNamespaceKeyFunc cannot fail on an object with metadata
		namespaced = namespaced || o.GetNamespace() != ""
	}
	i := strings.LastIndex(key, "/") // apiVersion may hold a slash, kind never does
	apiVersion, kind := key[:i], key[i+1:]
	gv, _ := schema.ParseGroupVersion(apiVersion)
	plural, _ := meta.UnsafeGuessKindToResource(gv.WithKind(kind))
	scope := meta.RESTScopeRoot
	if namespaced {
		scope = meta.RESTScopeNamespace
	}
	return paramKind{staticInformer{cache.NewGenericLister(indexer, plural.GroupResource())}, scope}
}

// informer returns the params of kind pk (none when p holds none of that kind).
func (p *Params) informer(pk *admissionregistrationv1.ParamKind) (staticInformer, meta.RESTScope) {
	if pk == nil {
		return staticInformer{}, meta.RESTScopeRoot
	}
	key := pk.APIVersion + "/" + pk.Kind
	if p != nil {
		if k, ok := p.byKind[key]; ok {
			return k.informer, k.scope
		}
	}
	k := newParamKind(key, nil)
	return k.informer, k.scope
}

type staticInformer struct{ lister cache.GenericLister }

func (s staticInformer) Informer() cache.SharedIndexInformer { return syncedInformer{} }
func (s staticInformer) Lister() cache.GenericLister         { return s.lister }

// syncedInformer is an informer whose cache is complete from the start. CollectParams calls
// only HasSynced on it; any other method would panic on the nil embedded interface.
type syncedInformer struct{ cache.SharedIndexInformer }

func (syncedInformer) HasSynced() bool { return true }
