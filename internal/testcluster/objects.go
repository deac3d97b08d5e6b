package testcluster

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
)

//go:embed crds/*.yaml
var crdFiles embed.FS

// fieldManager owns what the tests apply, in managedFields.
const fieldManager = "threatcov-testcluster"

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// objects is the client side of Apply: a dynamic client and a discovery-backed REST mapper
// that is reset when a CRD makes a new kind appear.
type objects struct {
	dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
}

func (c *Cluster) objectClients() (*objects, error) {
	if c.objects != nil {
		return c.objects, nil
	}
	d, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	c.objects = &objects{
		dynamic: d,
		mapper:  restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client.Discovery())),
	}
	return c.objects, nil
}

// Dynamic returns a dynamic client for AdminUser.
func (c *Cluster) Dynamic() (dynamic.Interface, error) {
	o, err := c.objectClients()
	if err != nil {
		return nil, err
	}
	return o.dynamic, nil
}

// InstallPolicyCRDs installs the CRDs of Gatekeeper's ConstraintTemplate and Kyverno's
// ClusterPolicy and Policy (schemas written for these tests, see crds/) and waits until
// their kinds are served. No controller runs: the objects are stored, never enforced.
func (c *Cluster) InstallPolicyCRDs(ctx context.Context) error {
	return fs.WalkDir(crdFiles, "crds", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := crdFiles.ReadFile(path)
		if err != nil {
			return err
		}
		if _, err := c.ApplyYAML(ctx, data); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
}

// ApplyYAML decodes YAML or JSON documents (separated by ---) and applies them in order
// with Apply. It returns the objects as the server stored them.
func (c *Cluster) ApplyYAML(ctx context.Context, data []byte) ([]*unstructured.Unstructured, error) {
	decoder := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for i := 1; ; i++ {
		var content map[string]any
		if err := decoder.Decode(&content); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(content) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: content})
	}
	return c.Apply(ctx, objs...)
}

// Apply server-side applies each object in order (forcing conflicts: the test owns the
// cluster) and, for a CustomResourceDefinition, waits until its kind is served, so a later
// object in the same call may be of that kind. It returns the objects as stored.
func (c *Cluster) Apply(ctx context.Context, objs ...*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	o, err := c.objectClients()
	if err != nil {
		return nil, err
	}
	var stored []*unstructured.Unstructured
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		what := fmt.Sprintf("%s %s", gvk.Kind, objectName(obj))
		mapping, err := o.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			// A kind from a CRD applied by an earlier call, not yet in the mapper's cache.
			o.mapper.Reset()
			mapping, err = o.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		}
		if err != nil {
			return nil, fmt.Errorf("apply %s: %w", what, err)
		}
		var client dynamic.ResourceInterface = o.dynamic.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			ns := obj.GetNamespace()
			if ns == "" {
				ns = metav1.NamespaceDefault
			}
			client = o.dynamic.Resource(mapping.Resource).Namespace(ns)
		}
		got, err := client.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true})
		if err != nil {
			return nil, fmt.Errorf("apply %s: %w", what, err)
		}
		if mapping.Resource == crdResource {
			if err := c.waitServed(ctx, got); err != nil {
				return nil, fmt.Errorf("apply %s: %w", what, err)
			}
		}
		stored = append(stored, got)
	}
	return stored, nil
}

func objectName(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns + "/" + obj.GetName()
	}
	return obj.GetName()
}

// waitServed waits until crd is Established and discovery lists each of its served
// versions: only then do clients (and the reader under test) see the kind.
func (c *Cluster) waitServed(ctx context.Context, crd *unstructured.Unstructured) error {
	o, err := c.objectClients()
	if err != nil {
		return err
	}
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		current, err := o.dynamic.Resource(crdResource).Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if err == nil && established(current) {
			o.mapper.Reset()
			served := true
			for _, v := range versions {
				name, _, _ := unstructured.NestedString(v.(map[string]any), "name")
				isServed, _, _ := unstructured.NestedBool(v.(map[string]any), "served")
				if _, err := o.mapper.RESTMapping(schema.GroupKind{Group: group, Kind: kind}, name); isServed && err != nil {
					served = false
				}
			}
			if served {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CustomResourceDefinition %s not served: %w", crd.GetName(), ctx.Err())
		case <-tick.C:
		}
	}
}

func established(crd *unstructured.Unstructured) bool {
	conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conditions {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// ConstraintGroup is the API group of Gatekeeper constraints.
const ConstraintGroup = "constraints.gatekeeper.sh"

// CreateConstraintCRD creates the CRD Gatekeeper's controller would create for a
// ConstraintTemplate, so its Constraints can be applied and discovered: kind
// spec.crd.spec.names.kind in group constraints.gatekeeper.sh, cluster-scoped, plural the
// lower-cased kind, versions v1beta1 (stored) and v1alpha1 and v1, labelled
// gatekeeper.sh/constraint=yes, spec.parameters from the template's openAPIV3Schema (fields
// kept whole when the template has none or sets legacySchema). It waits until the kind is
// served.
func (c *Cluster) CreateConstraintCRD(ctx context.Context, template *unstructured.Unstructured) error {
	kind, _, _ := unstructured.NestedString(template.Object, "spec", "crd", "spec", "names", "kind")
	if kind == "" {
		return fmt.Errorf("ConstraintTemplate %s: spec.crd.spec.names.kind is empty", template.GetName())
	}
	shortNames, _, _ := unstructured.NestedStringSlice(template.Object, "spec", "crd", "spec", "names", "shortNames")
	parameters, found, _ := unstructured.NestedMap(template.Object, "spec", "crd", "spec", "validation", "openAPIV3Schema")
	legacy, _, _ := unstructured.NestedBool(template.Object, "spec", "crd", "spec", "validation", "legacySchema")
	if !found {
		parameters = map[string]any{"type": "object"}
	}
	if !found || legacy {
		parameters["x-kubernetes-preserve-unknown-fields"] = true
	}
	keep := map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}
	openAPI := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"spec": map[string]any{
				"type": "object",
				"properties": map[string]any{
					"enforcementAction": map[string]any{"type": "string"},
					"scopedEnforcementActions": map[string]any{
						"type": "array", "items": keep,
					},
					"match":      keep,
					"parameters": parameters,
				},
			},
			"status": keep,
		},
	}
	var versions []any
	for _, v := range []string{"v1beta1", "v1alpha1", "v1"} {
		versions = append(versions, map[string]any{
			"name":         v,
			"served":       true,
			"storage":      v == "v1beta1",
			"schema":       map[string]any{"openAPIV3Schema": openAPI},
			"subresources": map[string]any{"status": map[string]any{}},
		})
	}
	plural := strings.ToLower(kind)
	names := map[string]any{
		"kind":       kind,
		"listKind":   kind + "List",
		"plural":     plural,
		"singular":   plural,
		"categories": []any{"constraint", "constraints"},
	}
	if len(shortNames) > 0 {
		var sn []any
		for _, s := range shortNames {
			sn = append(sn, s)
		}
		names["shortNames"] = sn
	}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata": map[string]any{
			"name":   plural + "." + ConstraintGroup,
			"labels": map[string]any{"gatekeeper.sh/constraint": "yes"},
		},
		"spec": map[string]any{
			"group":    ConstraintGroup,
			"scope":    "Cluster",
			"names":    names,
			"versions": versions,
		},
	}}
	if _, err := c.Apply(ctx, crd); err != nil {
		return fmt.Errorf("constraint CRD for ConstraintTemplate %s: %w", template.GetName(), err)
	}
	return nil
}
