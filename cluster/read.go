package cluster

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/threatcov/threatcov/policies"
)

// The API groups the reader lists.
const (
	TemplateGroup   = "templates.gatekeeper.sh"
	ConstraintGroup = "constraints.gatekeeper.sh"
	KyvernoGroup    = "kyverno.io"
	// KyvernoCELGroup holds Kyverno's CEL policies and their PolicyExceptions.
	KyvernoCELGroup = "policies.kyverno.io"
	AdmissionGroup  = "admissionregistration.k8s.io"
)

// NoteKind says why a resource type was not read.
type NoteKind string

const (
	// NoteMissing: the cluster does not serve the resource (e.g. Kyverno is not installed).
	NoteMissing NoteKind = "missing"
	// NoteForbidden: RBAC denied the list; Rule is what the user needs.
	NoteForbidden NoteKind = "forbidden"
)

// Rule is one RBAC PolicyRule, as it would be written in a ClusterRole.
type Rule struct {
	APIGroups []string `json:"apiGroups"`
	Resources []string `json:"resources"`
	Verbs     []string `json:"verbs"`
}

func (r Rule) String() string {
	q := func(s []string) string {
		out := make([]string, len(s))
		for i, v := range s {
			out[i] = fmt.Sprintf("%q", v)
		}
		return "[" + strings.Join(out, ", ") + "]"
	}
	return fmt.Sprintf("{apiGroups: %s, resources: %s, verbs: %s}", q(r.APIGroups), q(r.Resources), q(r.Verbs))
}

// Note records a resource type the reader could not list, and why.
type Note struct {
	Kind NoteKind `json:"kind"`
	// Resource is "<resource>.<group>" ("namespaces" for the core group).
	Resource string `json:"resource"`
	Message  string `json:"message"`
	// Rule is set for NoteForbidden: the RBAC rule that would allow the list.
	Rule *Rule `json:"rule,omitempty"`
}

func (n Note) String() string { return n.Message }

// target is one resource type to list; version empty means the group's preferred version.
type target struct {
	group, version, resource, what string
	// all lists every resource of the group (constraint kinds are one CRD per template).
	all bool
}

var targets = []target{
	{group: TemplateGroup, resource: "constrainttemplates", what: "Gatekeeper ConstraintTemplates"},
	{group: ConstraintGroup, all: true, what: "Gatekeeper constraints"},
	{group: KyvernoGroup, resource: "clusterpolicies", what: "Kyverno ClusterPolicies"},
	{group: KyvernoGroup, resource: "policies", what: "Kyverno Policies"},
	// An exception that matches the attacker's request is a way through: never read one
	// without the other.
	{group: KyvernoGroup, resource: "policyexceptions", what: "Kyverno PolicyExceptions"},
	{group: KyvernoCELGroup, resource: "validatingpolicies", what: "Kyverno ValidatingPolicies"},
	{group: KyvernoCELGroup, resource: "policyexceptions", what: "Kyverno CEL PolicyExceptions"},
	{group: AdmissionGroup, version: "v1", resource: "validatingadmissionpolicies", what: "ValidatingAdmissionPolicies"},
	{group: AdmissionGroup, version: "v1", resource: "validatingadmissionpolicybindings", what: "ValidatingAdmissionPolicyBindings"},
	// Gatekeeper's webhook rules decide which requests its constraints judge at all.
	{group: AdmissionGroup, version: "v1", resource: "validatingwebhookconfigurations", what: "ValidatingWebhookConfigurations (Gatekeeper's rules)"},
	{group: "", version: "v1", resource: "namespaces", what: "Namespaces (Pod Security labels)"},
}

// listPageSize bounds one list response; large clusters are read in pages. A variable so a
// test can make pages small.
var listPageSize int64 = 500

// Read lists the cluster's admission policy objects: Gatekeeper ConstraintTemplates and
// every constraint kind discovered under constraints.gatekeeper.sh, Kyverno ClusterPolicies,
// Policies, ValidatingPolicies and PolicyExceptions, ValidatingAdmissionPolicies and their
// bindings, ValidatingWebhookConfigurations (Gatekeeper's rules), and Namespaces (for their
// Pod Security labels). It only uses discovery and list requests. contextName is recorded
// in every object's Source.File: "cluster:<context>/<group>/<Kind>/<namespace>/<name>"
// ("core" for the core group; the namespace segment is left out for cluster-scoped kinds).
//
// A resource type the cluster does not serve, or that RBAC forbids listing, is not an
// error: it comes back as a Note (forbidden ones with the Rule the user needs). Any other
// failure is an error. Objects come back without status, managedFields and the
// server-assigned metadata (uid, resourceVersion, generation, creationTimestamp), sorted by
// source, so two reads of an unchanged cluster are identical. A line per listed type goes to
// progress when it is not nil.
//
// Cost: one discovery request per relevant group version plus one list per resource type
// and page of 500 objects.
func Read(ctx context.Context, cfg *rest.Config, contextName string, progress io.Writer) ([]policies.Object, []Note, error) {
	return read(ctx, cfg, contextName, progress, targets)
}

// workloadTargets are what a team runs that admission policies judge: workloads and RBAC.
var workloadTargets = []target{
	{group: "", version: "v1", resource: "pods", what: "Pods"},
	{group: "", version: "v1", resource: "replicationcontrollers", what: "ReplicationControllers"},
	{group: "apps", version: "v1", resource: "deployments", what: "Deployments"},
	{group: "apps", version: "v1", resource: "replicasets", what: "ReplicaSets"},
	{group: "apps", version: "v1", resource: "statefulsets", what: "StatefulSets"},
	{group: "apps", version: "v1", resource: "daemonsets", what: "DaemonSets"},
	{group: "batch", version: "v1", resource: "jobs", what: "Jobs"},
	{group: "batch", version: "v1", resource: "cronjobs", what: "CronJobs"},
	{group: "rbac.authorization.k8s.io", version: "v1", resource: "roles", what: "Roles"},
	{group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterroles", what: "ClusterRoles"},
	{group: "rbac.authorization.k8s.io", version: "v1", resource: "rolebindings", what: "RoleBindings"},
	{group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterrolebindings", what: "ClusterRoleBindings"},
}

// ReadWorkloads lists what the cluster runs that admission policies judge, for `threatcov fix`
// to say what a policy would deny: Pods, the built-in workload kinds, and RBAC roles and
// bindings. Objects a controller owns (a Deployment's ReplicaSets and Pods, a node's mirror
// Pods) are left out: their owner is judged, or they are the node's. Everything else is as
// Read: Notes for what cannot be listed, objects cleaned and sorted, the same cost.
func ReadWorkloads(ctx context.Context, cfg *rest.Config, contextName string, progress io.Writer) ([]policies.Object, []Note, error) {
	objs, notes, err := read(ctx, cfg, contextName, progress, workloadTargets)
	if err != nil {
		return nil, nil, err
	}
	out := objs[:0]
	for _, o := range objs {
		if !controlled(o.Object) {
			out = append(out, o)
		}
	}
	return out, notes, nil
}

// controlled reports whether an object has a controlling owner.
func controlled(obj map[string]any) bool {
	md, _ := obj["metadata"].(map[string]any)
	refs, _ := md["ownerReferences"].([]any)
	for _, r := range refs {
		if ref, _ := r.(map[string]any); ref["controller"] == true {
			return true
		}
	}
	return false
}

func read(ctx context.Context, cfg *rest.Config, contextName string, progress io.Writer, targets []target) ([]policies.Object, []Note, error) {
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %s: %w", contextName, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %s: %w", contextName, err)
	}
	groups, err := disc.ServerGroups()
	if err != nil {
		return nil, nil, fmt.Errorf("cluster %s: discover API groups: %w", contextName, err)
	}
	served := map[string]metav1.APIGroup{}
	for _, g := range groups.Groups {
		served[g.Name] = g
	}

	var objs []policies.Object
	var notes []Note
	for _, t := range targets {
		resources, version, note, err := resolve(disc, served, t)
		if err != nil {
			return nil, nil, fmt.Errorf("cluster %s: %w", contextName, err)
		}
		if note != nil {
			notes = append(notes, *note)
			continue
		}
		for _, r := range resources {
			gvr := schema.GroupVersionResource{Group: t.group, Version: version, Resource: r.Name}
			if progress != nil {
				fmt.Fprintf(progress, "cluster %s: listing %s...\n", contextName, resourceName(gvr.GroupResource()))
			}
			items, err := listAll(ctx, dyn.Resource(gvr))
			switch {
			case apierrors.IsForbidden(err):
				notes = append(notes, forbidden(gvr.GroupResource(), t.what))
				continue
			case apierrors.IsNotFound(err):
				notes = append(notes, Note{Kind: NoteMissing, Resource: resourceName(gvr.GroupResource()),
					Message: fmt.Sprintf("%s: %s disappeared while reading; skipped", t.what, resourceName(gvr.GroupResource()))})
				continue
			case err != nil:
				return nil, nil, fmt.Errorf("cluster %s: list %s: %w", contextName, resourceName(gvr.GroupResource()), err)
			}
			for _, it := range items {
				objs = append(objs, policies.Object{Object: clean(it.Object), Source: policies.Location{File: source(contextName, it)}})
			}
		}
	}
	sort.SliceStable(objs, func(i, j int) bool { return objs[i].Source.File < objs[j].Source.File })
	return objs, notes, nil
}

// resolve finds the resources of t the cluster serves and the version to list them at.
func resolve(disc discovery.DiscoveryInterface, served map[string]metav1.APIGroup, t target) ([]metav1.APIResource, string, *Note, error) {
	missing := func(format string, args ...any) *Note {
		gr := schema.GroupResource{Group: t.group, Resource: t.resource}
		if t.all {
			gr.Resource = "*"
		}
		return &Note{Kind: NoteMissing, Resource: resourceName(gr), Message: fmt.Sprintf(format, args...)}
	}
	var versions []string
	if t.group == "" {
		versions = []string{"v1"}
	} else {
		g, ok := served[t.group]
		if !ok {
			return nil, "", missing("%s: the cluster does not serve the API group %s; skipped", t.what, t.group), nil
		}
		if t.version != "" {
			versions = []string{t.version}
		} else {
			// The preferred version first, then the others as the server orders them.
			versions = append(versions, g.PreferredVersion.Version)
			for _, v := range g.Versions {
				if v.Version != g.PreferredVersion.Version {
					versions = append(versions, v.Version)
				}
			}
		}
	}
	for _, v := range versions {
		gv := schema.GroupVersion{Group: t.group, Version: v}.String()
		list, err := disc.ServerResourcesForGroupVersion(gv)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, "", nil, fmt.Errorf("discover %s: %w", gv, err)
		}
		var out []metav1.APIResource
		for _, r := range list.APIResources {
			if strings.Contains(r.Name, "/") || !hasVerb(r, "list") {
				continue // subresources (status) are not objects of their own
			}
			if t.all || r.Name == t.resource {
				out = append(out, r)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		if len(out) > 0 {
			return out, v, nil, nil
		}
		if t.all {
			return nil, "", missing("%s: no constraint kinds are served under %s (no ConstraintTemplate has created one); skipped", t.what, t.group), nil
		}
	}
	if t.version != "" {
		return nil, "", missing("%s: the cluster does not serve %s at %s/%s; skipped", t.what, t.resource, t.group, t.version), nil
	}
	return nil, "", missing("%s: the cluster does not serve %s in %s; skipped", t.what, t.resource, t.group), nil
}

func hasVerb(r metav1.APIResource, verb string) bool {
	for _, v := range r.Verbs {
		if v == verb {
			return true
		}
	}
	return false
}

func listAll(ctx context.Context, ri dynamic.ResourceInterface) ([]unstructured.Unstructured, error) {
	var out []unstructured.Unstructured
	opts := metav1.ListOptions{Limit: listPageSize}
	for {
		list, err := ri.List(ctx, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, list.Items...)
		if list.GetContinue() == "" {
			return out, nil
		}
		opts.Continue = list.GetContinue()
	}
}

func forbidden(gr schema.GroupResource, what string) Note {
	rule := Rule{APIGroups: []string{gr.Group}, Resources: []string{gr.Resource}, Verbs: []string{"list"}}
	return Note{Kind: NoteForbidden, Resource: resourceName(gr), Rule: &rule,
		Message: fmt.Sprintf("%s: listing %s is forbidden; skipped, so the inventory misses them: grant the RBAC rule %s (docs/cluster.md has the full ClusterRole)", what, resourceName(gr), rule)}
}

func resourceName(gr schema.GroupResource) string {
	if gr.Group == "" {
		return gr.Resource
	}
	return gr.Resource + "." + gr.Group
}

func source(contextName string, obj unstructured.Unstructured) string {
	g := obj.GroupVersionKind().Group
	if g == "" {
		g = "core"
	}
	parts := []string{"cluster:" + contextName, g, obj.GetKind()}
	if ns := obj.GetNamespace(); ns != "" {
		parts = append(parts, ns)
	}
	return strings.Join(append(parts, obj.GetName()), "/")
}

// volatileMetadata are fields the API server sets; dropping them keeps reads and exports of
// an unchanged cluster identical.
var volatileMetadata = []string{"managedFields", "resourceVersion", "uid", "generation", "creationTimestamp", "selfLink"}

// clean drops status and server-set metadata, and the last-applied annotation, a second
// copy of the object that would double what the inventory and exports hold.
func clean(obj map[string]any) map[string]any {
	delete(obj, "status")
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		return obj
	}
	for _, f := range volatileMetadata {
		delete(md, f)
	}
	if ann, _ := md["annotations"].(map[string]any); ann != nil {
		delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
		if len(ann) == 0 {
			delete(md, "annotations")
		}
	}
	return obj
}
