package policies

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/threatcov/threatcov/probes"
	corev1 "k8s.io/api/core/v1"
)

// probeInput is a probe placed in a namespace, converted once for every policy.
type probeInput struct {
	object, pod map[string]any
	// admitted is the object after built-in admission, expanded the workload's Pod as
	// Gatekeeper's expansion builds it (nil without expansion): what CEL engines read.
	admitted, expanded map[string]any
	objectValue        ast.Value // pipeline input
	objectReview       *ast.Term // Gatekeeper input.review
	podReview          *ast.Term
	// expanded is the Pod Gatekeeper's expansion (ExpansionTemplates) reviews as part of the
	// workload's own request: the attacker's, source Generated; nil without expansion.
	expandedReview  *ast.Term
	expandedRequest request
	objectRequest   request
	podRequest      request
	base            *probeBase
	values          func() error // builds objectValue and the reviews (regoValues)
	valuesOnce      sync.Once
	valuesErr       error
	// limited names the namespace when LimitRanges mutated the admitted object or Pod ("" when
	// none did): reviews built here differ from other namespaces' in more than the namespace.
	limited string
	err     error
}

// inputKey identifies a converted input: the probe (by name and object identity) placed in a
// namespace.
type inputKey struct {
	base      baseKey
	namespace string
}

// baseKey identifies a probe by name and object identity.
type baseKey struct {
	name     string
	obj, old uintptr
}

func baseKeyOf(probe probes.Probe) baseKey {
	return baseKey{probe.Name, reflect.ValueOf(probe.Object).Pointer(), reflect.ValueOf(probe.OldObject).Pointer()}
}

func (k inputKey) less(o inputKey) bool {
	switch {
	case k.base.name != o.base.name:
		return k.base.name < o.base.name
	case k.base.obj != o.base.obj:
		return k.base.obj < o.base.obj
	case k.base.old != o.base.old:
		return k.base.old < o.base.old
	}
	return k.namespace < o.namespace
}

func (e *Evaluator) input(probe probes.Probe, namespace string) *probeInput {
	key := inputKey{baseKeyOf(probe), namespace}
	return cached(&e.mu, e.inputs, key, func() *probeInput { return e.buildInput(probe, namespace) })
}

// cached returns m[key], building it outside the lock when missing; when two goroutines build
// the same key, the first one stored wins.
func cached[K comparable, T any](mu *sync.Mutex, m map[K]T, key K, build func() T) T {
	mu.Lock()
	v, ok := m[key]
	mu.Unlock()
	if ok {
		return v
	}
	v = build()
	mu.Lock()
	defer mu.Unlock()
	if prev, ok := m[key]; ok {
		return prev
	}
	m[key] = v
	return v
}

// probeBase is a probe converted once for all namespaces: its object, old object and the Pod
// its controller would create, as maps and as Rego values. buildInput places them in a
// namespace by copying only their top level and metadata.
type probeBase struct {
	object, old, pod                map[string]any
	objectValue, oldValue, podValue ast.Value
	objectErr, oldErr, podErr       error
	// admitted is the object as validating admission sees it, after the API server's
	// built-in mutation (probes.Admit); the pipeline sees object as written.
	admitted      map[string]any
	admittedValue ast.Value
	admittedErr   error
	// expanded is the workload's Pod as Gatekeeper's expansion builds it: no built-in
	// admission has run on it.
	expanded      map[string]any
	expandedValue ast.Value

	// Rego results of namespace-blind policies on this probe, shared by every namespace
	// (docs/semantics.md, "Evaluations shared between namespaces").
	sharedMu sync.Mutex
	shared   map[sharedKey]result

	// The Pod as Pod Security Admission reads it, converted on first use: its checks read the
	// spec and annotations, never the namespace, so one conversion serves every namespace.
	typedOnce   sync.Once
	typedPod    *corev1.Pod
	typedPodErr error
}

func (e *Evaluator) base(probe probes.Probe) *probeBase {
	return cached(&e.mu, e.bases, baseKeyOf(probe), func() *probeBase {
		b := &probeBase{object: probe.Object, old: probe.OldObject}
		b.objectValue, b.objectErr = ast.InterfaceToValue(b.object)
		b.admitted, b.admittedValue, b.admittedErr = b.object, b.objectValue, b.objectErr
		if op := probe.Operation; (op == "" || op == "CREATE") && probe.SubResource == "" {
			if adm := probes.Admit(b.object); str(adm, "kind") == "Pod" {
				b.admitted = adm
				b.admittedValue, b.admittedErr = ast.InterfaceToValue(adm)
			}
		}
		if b.old != nil {
			b.oldValue, b.oldErr = ast.InterfaceToValue(b.old)
		}
		if b.expanded = probes.ExpandPod(b.object); b.expanded != nil {
			b.expandedValue, b.podErr = ast.InterfaceToValue(b.expanded)
			b.pod = probes.Admit(b.expanded)
			if b.podErr == nil {
				b.podValue, b.podErr = ast.InterfaceToValue(b.pod)
			}
		}
		return b
	})
}

// placed is probes.Place on an object: the namespace is set when the kind is namespaced and
// the object names none. The result shares all but its top level and metadata with obj,
// which nothing modifies. placedValue is the same on the object's Rego value v.
func placed(obj map[string]any, namespace string) map[string]any {
	if !needsPlacing(obj) {
		return obj
	}
	md, _ := obj["metadata"].(map[string]any)
	return withNamespace(obj, md, namespace)
}

func placedValue(obj map[string]any, v ast.Value, namespace string) ast.Value {
	if !needsPlacing(obj) {
		return v
	}
	md, _ := obj["metadata"].(map[string]any)
	return withNamespaceValue(md, v, namespace)
}

func needsPlacing(obj map[string]any) bool {
	kind, _ := obj["kind"].(string)
	if probes.ClusterScoped(kind) {
		return false
	}
	md, _ := obj["metadata"].(map[string]any)
	ns, _ := md["namespace"].(string)
	return ns == ""
}

// withNamespace returns obj with metadata.namespace set to namespace (md is obj's metadata,
// nil when it has none or it is not an object); withNamespaceValue the same on obj's Rego
// value v.
func withNamespace(obj, md map[string]any, namespace string) map[string]any {
	return withMetadata(obj, md, "namespace", namespace)
}

// withMetadata returns obj with metadata[key] set to value, copying only the top level and
// the metadata (md, obj's metadata or nil).
func withMetadata(obj, md map[string]any, key string, value any) map[string]any {
	out := make(map[string]any, len(obj)+1)
	for k, x := range obj {
		out[k] = x
	}
	outMD := make(map[string]any, len(md)+1)
	for k, x := range md {
		outMD[k] = x
	}
	outMD[key] = value
	out["metadata"] = outMD
	return out
}

func withNamespaceValue(md map[string]any, v ast.Value, namespace string) ast.Value {
	metadataKey, nsKey := ast.StringTerm("metadata"), ast.StringTerm("namespace")
	mdValue := ast.NewObject()
	if md != nil {
		if t := v.(ast.Object).Get(metadataKey); t != nil {
			t.Value.(ast.Object).Foreach(func(k, x *ast.Term) {
				if !k.Equal(nsKey) {
					mdValue.Insert(k, x)
				}
			})
		}
	}
	mdValue.Insert(nsKey, ast.StringTerm(namespace))
	objValue := ast.NewObject()
	v.(ast.Object).Foreach(func(k, x *ast.Term) {
		if !k.Equal(metadataKey) {
			objValue.Insert(k, x)
		}
	})
	objValue.Insert(metadataKey, ast.NewTerm(mdValue))
	return objValue
}

func (e *Evaluator) nsLabels(namespace string) map[string]string {
	for _, ns := range e.inv.Namespaces {
		if ns.Name == namespace {
			labels := map[string]string{"kubernetes.io/metadata.name": namespace}
			for k, v := range ns.Labels {
				labels[k] = v
			}
			return labels
		}
	}
	// The API server labels every namespace with its name.
	return map[string]string{"kubernetes.io/metadata.name": namespace}
}

func (e *Evaluator) buildInput(probe probes.Probe, namespace string) *probeInput {
	in := &probeInput{}
	if probe.Object == nil {
		in.err = fmt.Errorf("probe %s has no object", probe.Name)
		return in
	}
	b := e.base(probe)
	in.base = b
	if err := b.err(); err != nil {
		in.err = fmt.Errorf("probe %s: %v", probe.Name, err)
		return in
	}
	in.object = placed(b.object, namespace)
	admitted := placed(b.admitted, namespace)
	// LimitRanger fills resources from the namespace's LimitRanges: a per-namespace mutation,
	// converted again only where a namespace has one.
	ranges := e.inv.limitRanges(namespace)
	if len(ranges) > 0 {
		in.limited = namespace
	}
	creates := (probe.Operation == "" || probe.Operation == "CREATE") && probe.SubResource == ""
	limitedAdmitted := len(ranges) > 0 && creates && str(admitted, "kind") == "Pod"
	if limitedAdmitted {
		admitted = probes.ApplyLimitRanges(admitted, ranges)
	}
	nsLabels := e.nsLabels(namespace)
	in.admitted = admitted
	in.objectRequest = requestFor(admitted, nsLabels, probes.Attacker, probe.Operation, probe.SubResource)
	if b.pod != nil {
		e.workloadRequests(in, nsLabels, ranges)
	}
	// The Rego values are built on first use: a namespace-blind policy's evaluation shared
	// from another namespace needs none of them. With LimitRanges they are built now, so a
	// conversion error fails every policy as before.
	in.values = func() error {
		if err := in.buildValues(probe, namespace, limitedAdmitted, len(ranges) > 0); err != nil {
			return fmt.Errorf("probe %s: %v", probe.Name, err)
		}
		return nil
	}
	if len(ranges) > 0 {
		in.err = in.regoValues()
	}
	return in
}

// err is the first error converting the probe's objects to Rego values.
func (b *probeBase) err() error {
	for _, err := range []error{b.objectErr, b.admittedErr, b.oldErr, b.podErr} {
		if err != nil {
			return err
		}
	}
	return nil
}

// workloadRequests adds the requests a workload probe makes besides its own: the Pod its
// controller creates (an original request from the controller's service account, after
// LimitRanger) and, where ExpansionTemplates apply, Gatekeeper's expansion of it (the
// attacker's request, source Generated).
func (e *Evaluator) workloadRequests(in *probeInput, nsLabels map[string]string, ranges []map[string]any) {
	b := in.base
	in.pod = inWorkloadNamespace(in.object, b.pod)
	if len(ranges) > 0 {
		in.pod = probes.ApplyLimitRanges(in.pod, ranges)
	}
	kind := str(in.object, "kind")
	controller, _ := probes.Controller(kind)
	in.podRequest = requestFor(in.pod, nsLabels, controller, "CREATE", "")
	if e.inv.expandsToPod(kind) {
		in.expanded = inWorkloadNamespace(in.object, b.expanded)
		in.expandedRequest = requestFor(in.expanded, nsLabels, probes.Attacker, "CREATE", "")
		in.expandedRequest.generated = true
	}
}

// inWorkloadNamespace gives a workload's Pod the workload's namespace (ExpandPod copies the
// namespace the workload names, not the one it is placed in).
func inWorkloadNamespace(workload, pod map[string]any) map[string]any {
	if ns := str(workload, "metadata", "namespace"); ns != "" {
		md, _ := pod["metadata"].(map[string]any)
		return withNamespace(pod, md, ns)
	}
	return pod
}

// inWorkloadNamespaceValue is inWorkloadNamespace on the Pod's Rego value.
func inWorkloadNamespaceValue(workload, pod map[string]any, v ast.Value) ast.Value {
	if ns := str(workload, "metadata", "namespace"); ns != "" {
		md, _ := pod["metadata"].(map[string]any)
		return withNamespaceValue(md, v, ns)
	}
	return v
}

// buildValues converts what buildInput placed into Rego values: the pipeline input and the
// reviews of every request. limitedAdmitted and limitedPod say LimitRanger mutated the
// admitted object or the Pod in this namespace, so they are converted anew.
func (in *probeInput) buildValues(probe probes.Probe, namespace string, limitedAdmitted, limitedPod bool) error {
	b := in.base
	in.objectValue = placedValue(b.object, b.objectValue, namespace)
	admittedValue := placedValue(b.admitted, b.admittedValue, namespace)
	var err error
	if limitedAdmitted {
		if admittedValue, err = ast.InterfaceToValue(in.admitted); err != nil {
			return err
		}
	}
	var old ast.Value
	if b.old != nil {
		old = placedValue(b.old, b.oldValue, namespace)
	}
	if in.objectReview, err = review(admittedValue, old, str(in.object, "apiVersion"), in.objectRequest); err != nil {
		return err
	}
	if in.pod == nil {
		return nil
	}
	podValue := inWorkloadNamespaceValue(in.object, b.pod, b.podValue)
	if limitedPod {
		if podValue, err = ast.InterfaceToValue(in.pod); err != nil {
			return err
		}
	}
	if in.podReview, err = review(podValue, nil, str(in.pod, "apiVersion"), in.podRequest); err != nil {
		return err
	}
	if in.expanded != nil {
		expandedValue := inWorkloadNamespaceValue(in.object, b.expanded, b.expandedValue)
		if in.expandedReview, err = review(expandedValue, nil, str(in.expanded, "apiVersion"), in.expandedRequest); err != nil {
			return err
		}
	}
	return nil
}

// regoValues builds in's Rego values once.
func (in *probeInput) regoValues() error {
	in.valuesOnce.Do(func() { in.valuesErr = in.values() })
	return in.valuesErr
}

// requestFor is the request that sends obj, by user, with an operation ("" is CREATE) and
// subresource.
func requestFor(obj map[string]any, nsLabels map[string]string, user probes.UserInfo, operation, subResource string) request {
	if operation == "" {
		operation = "CREATE"
	}
	apiVersion := str(obj, "apiVersion")
	labels := map[string]string{}
	if m, ok := lookup(obj, "metadata", "labels").(map[string]any); ok {
		for k, v := range m {
			labels[k] = fmt.Sprint(v)
		}
	}
	return request{
		group: group(apiVersion), kind: str(obj, "kind"), name: str(obj, "metadata", "name"),
		namespace: str(obj, "metadata", "namespace"), labels: labels, nsLabels: nsLabels, user: user,
		operation: operation, subResource: subResource,
	}
}

// review is Gatekeeper's input.review: the AdmissionRequest fields templates read, around
// the already converted object (and old object, nil for none).
func review(obj, old ast.Value, apiVersion string, r request) (*ast.Term, error) {
	version := apiVersion
	if i := strings.Index(version, "/"); i >= 0 {
		version = version[i+1:]
	}
	rv := map[string]any{
		"kind":      map[string]any{"group": r.group, "version": version, "kind": r.kind},
		"operation": r.operation,
		"name":      r.name,
		"uid":       "threatcov-probe",
		"userInfo":  map[string]any{"username": r.user.Username, "groups": groupsOf(r.user)},
		"dryRun":    false,
	}
	if !r.clusterScoped() {
		rv["namespace"] = r.namespace
	}
	if r.subResource != "" {
		rv["subResource"] = r.subResource
	}
	v, err := ast.InterfaceToValue(rv)
	if err != nil {
		return nil, err
	}
	o := v.(ast.Object)
	o.Insert(ast.StringTerm("object"), ast.NewTerm(obj))
	if old != nil {
		o.Insert(ast.StringTerm("oldObject"), ast.NewTerm(old))
	}
	return ast.NewTerm(o), nil
}

func groupsOf(u probes.UserInfo) []any {
	out := make([]any, len(u.Groups))
	for i, g := range u.Groups {
		out[i] = g
	}
	return out
}

// request is the request of which, as Gatekeeper's match reads it, and its review.
func (in *probeInput) request(which requestKind) (request, *ast.Term) {
	switch which {
	case reqPod:
		return in.podRequest, in.podReview
	case reqExpanded:
		return in.expandedRequest, in.expandedReview
	}
	return in.objectRequest, in.objectReview
}
