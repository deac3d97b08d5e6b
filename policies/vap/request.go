package vap

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authentication/user"
)

// Request is one admission request as validating admission receives it.
type Request struct {
	// Operation is CREATE (when empty), UPDATE, DELETE or CONNECT.
	Operation string
	// SubResource, e.g. "ephemeralcontainers" or "exec".
	SubResource string
	// Object is the object of the request (nil for DELETE), OldObject the stored one (UPDATE,
	// DELETE). Their apiVersion and kind are the request's kind.
	Object, OldObject map[string]any
	// Resource overrides the resource guessed from the kind ("pods" for Pod).
	Resource string
	// Namespace is the namespace of a namespaced request, with its labels; nil for
	// cluster-scoped requests.
	Namespace *Namespace
	// User is who sends the request.
	User UserInfo
	// DryRun marks a server-side dry-run.
	DryRun bool
}

// Namespace is the namespace object a namespaced request is made in.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// UserInfo is the requesting user, as authentication resolved it.
type UserInfo struct {
	Username string
	UID      string
	Groups   []string
	Extra    map[string][]string
}

// connectResources are the resources whose CONNECT subresources take an options kind.
var connectResources = map[string]string{
	"PodExecOptions": "pods", "PodAttachOptions": "pods", "PodPortForwardOptions": "pods",
	"PodProxyOptions": "pods", "NodeProxyOptions": "nodes", "ServiceProxyOptions": "services",
}

// attributes builds the API server's admission attributes for r.
func (r Request) attributes() (admission.Attributes, error) {
	op := strings.ToUpper(r.Operation)
	if op == "" {
		op = string(admission.Create)
	}
	switch admission.Operation(op) {
	case admission.Create, admission.Update, admission.Delete, admission.Connect:
	default:
		return nil, fmt.Errorf("operation %q: want CREATE, UPDATE, DELETE or CONNECT", r.Operation)
	}
	ref := r.Object
	if ref == nil {
		ref = r.OldObject
	}
	if ref == nil {
		return nil, fmt.Errorf("request has neither object nor oldObject")
	}
	var obj, old runtime.Object
	if r.Object != nil {
		obj = &unstructured.Unstructured{Object: r.Object}
	}
	if r.OldObject != nil {
		old = &unstructured.Unstructured{Object: r.OldObject}
	}
	u := &unstructured.Unstructured{Object: ref}
	gvk := u.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return nil, fmt.Errorf("object has no apiVersion or kind")
	}
	resource := r.Resource
	if resource == "" {
		if res, ok := connectResources[gvk.Kind]; ok && gvk.Group == "" {
			resource = res
		} else {
			plural, _ := meta.UnsafeGuessKindToResource(gvk)
			resource = plural.Resource
		}
	}
	ns := ""
	if r.Namespace != nil {
		ns = r.Namespace.Name
	}
	info := &user.DefaultInfo{Name: r.User.Username, UID: r.User.UID, Groups: r.User.Groups, Extra: r.User.Extra}
	return admission.NewAttributesRecord(obj, old, gvk, ns, u.GetName(),
		gvk.GroupVersion().WithResource(resource), r.SubResource, admission.Operation(op), nil, r.DryRun, info), nil
}

// object is the Namespace the API server hands to CEL as namespaceObject and to the namespace
// selector, labelled as the API server labels every namespace; nil for a cluster-scoped
// request.
func (n *Namespace) object() *corev1.Namespace {
	if n == nil {
		return nil
	}
	l := map[string]string{corev1.LabelMetadataName: n.Name}
	for k, v := range n.Labels {
		l[k] = v
	}
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: l},
		Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
}

// namespaceLister holds the one namespace of a request, for the API server's namespace
// selector matcher (which would otherwise ask a cluster).
type namespaceLister struct{ ns *corev1.Namespace }

func (l namespaceLister) List(sel labels.Selector) ([]*corev1.Namespace, error) {
	if l.ns != nil && sel.Matches(labels.Set(l.ns.Labels)) {
		return []*corev1.Namespace{l.ns}, nil
	}
	return nil, nil
}

func (l namespaceLister) Get(name string) (*corev1.Namespace, error) {
	if l.ns != nil && l.ns.Name == name {
		return l.ns, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, name)
}
