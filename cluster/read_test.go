package cluster_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/threatcov/threatcov/cluster"
	"github.com/threatcov/threatcov/internal/testcluster"
	"github.com/threatcov/threatcov/policies"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// Namespaces the fixture creates.
const (
	nsBaseline = "reader-baseline" // pod-security enforce: baseline
	nsOpen     = "reader-open"     // no labels
	nsVAP      = "reader-vap"      // selected by the ValidatingAdmissionPolicyBinding
	nsTeam     = "reader-team"     // holds the namespaced Kyverno Policy
	vapLabel   = "threatcov.test/reader-vap"
	vapName    = "reader-deny-host-pid"
	targetPod  = "target" // a real pod in nsBaseline and nsOpen
)

var fixture struct {
	once sync.Once
	err  error
}

// setup applies testdata's policies to the shared cluster once per test binary.
func setup(t *testing.T) *testcluster.Cluster {
	t.Helper()
	c := testcluster.Shared(t)
	fixture.once.Do(func() { fixture.err = apply(context.Background(), c) })
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	return c
}

func apply(ctx context.Context, c *testcluster.Cluster) error {
	if err := c.InstallPolicyCRDs(ctx); err != nil {
		return err
	}
	for name, labels := range map[string]map[string]string{
		nsBaseline: {"pod-security.kubernetes.io/enforce": "baseline"},
		nsOpen:     nil,
		nsVAP:      {vapLabel: "true"},
		nsTeam:     nil,
	} {
		if err := c.CreateNamespace(ctx, name, labels); err != nil {
			return err
		}
	}
	// The pods an ephemeral-container probe is added to (kubectl debug needs a running pod);
	// nsVAP has none on purpose.
	for _, ns := range []string{nsBaseline, nsOpen} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: targetPod}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}},
		}}
		if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	read := func(name string) []byte {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			panic(err) // testdata is part of the package
		}
		return data
	}
	tmpl, err := c.ApplyYAML(ctx, read("template.yaml"))
	if err != nil {
		return err
	}
	if err := c.CreateConstraintCRD(ctx, tmpl[0]); err != nil {
		return err
	}
	for _, f := range []string{"constraint.yaml", "fixtures.yaml"} {
		if _, err := c.ApplyYAML(ctx, read(f)); err != nil {
			return err
		}
	}
	return nil
}

func TestRead(t *testing.T) {
	c := setup(t)
	var progress strings.Builder
	begin := time.Now()
	objs, notes, err := cluster.Read(t.Context(), c.Config, "test", &progress)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d objects in %v", len(objs), time.Since(begin).Round(time.Millisecond))
	if len(notes) != 0 {
		t.Errorf("notes: %v, want none (every resource type is served and allowed)", notes)
	}
	for _, want := range []string{"cluster test: listing constrainttemplates.templates.gatekeeper.sh...", "k8sreaderhostpid.constraints.gatekeeper.sh", "namespaces..."} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress %q lacks %q", progress.String(), want)
		}
	}

	var sources []string
	for _, o := range objs {
		sources = append(sources, o.Source.File)
		md := o.Object["metadata"].(map[string]any)
		for _, f := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp"} {
			if _, ok := md[f]; ok {
				t.Errorf("%s keeps metadata.%s", o.Source.File, f)
			}
		}
		if _, ok := o.Object["status"]; ok {
			t.Errorf("%s keeps status", o.Source.File)
		}
	}
	if !sort.StringsAreSorted(sources) {
		t.Errorf("objects not sorted by source: %v", sources)
	}
	for _, want := range []string{
		"cluster:test/admissionregistration.k8s.io/ValidatingAdmissionPolicy/" + vapName,
		"cluster:test/admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding/" + vapName,
		"cluster:test/constraints.gatekeeper.sh/K8sReaderHostPID/reader-host-pid",
		"cluster:test/core/Namespace/" + nsBaseline,
		"cluster:test/kyverno.io/ClusterPolicy/disallow-host-pid",
		"cluster:test/kyverno.io/Policy/" + nsTeam + "/audit-host-pid",
		"cluster:test/templates.gatekeeper.sh/ConstraintTemplate/k8sreaderhostpid",
	} {
		if !contains(sources, want) {
			t.Errorf("no object from %s in %v", want, sources)
		}
	}

	inv, err := policies.FromObjects(objs)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		ID     string
		Engine policies.Engine
		Mode   policies.Mode
		Source string
	}
	var got []row
	for _, p := range inv.Policies {
		if strings.Contains(p.ID, "reader") || strings.Contains(p.ID, "host-pid") {
			got = append(got, row{p.ID, p.Engine, p.Mode, p.Source.File})
		}
	}
	want := []row{
		{"gatekeeper:K8sReaderHostPID/reader-host-pid", policies.EngineGatekeeper, policies.ModeMonitor, "cluster:test/constraints.gatekeeper.sh/K8sReaderHostPID/reader-host-pid"},
		{"kyverno:disallow-host-pid", policies.EngineKyverno, policies.ModeEnforce, "cluster:test/kyverno.io/ClusterPolicy/disallow-host-pid"},
		{"kyverno:reader-team/audit-host-pid", policies.EngineKyverno, policies.ModeMonitor, "cluster:test/kyverno.io/Policy/reader-team/audit-host-pid"},
		{"psa:" + nsBaseline + "/enforce", policies.EnginePSA, policies.ModeEnforce, "cluster:test/core/Namespace/" + nsBaseline},
		{"vap:" + vapName + "/" + vapName, policies.EngineVAP, policies.ModeEnforce, "cluster:test/admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding/" + vapName},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
	for _, ref := range []string{"gatekeeper:K8sReaderHostPID", "kyverno:disallow-host-pid/host-pid", "psa:baseline", "vap:" + vapName} {
		if len(inv.Resolve(ref)) == 0 {
			t.Errorf("no policy answers to the mapping reference %q", ref)
		}
	}
	var names []string
	for _, ns := range inv.Namespaces {
		names = append(names, ns.Name)
		if ns.Name == nsBaseline && ns.Labels["pod-security.kubernetes.io/enforce"] != "baseline" {
			t.Errorf("namespace %s labels %v lack the enforce label", ns.Name, ns.Labels)
		}
	}
	for _, want := range []string{nsBaseline, nsOpen, nsVAP, nsTeam} {
		if !contains(names, want) {
			t.Errorf("namespaces %v lack %s", names, want)
		}
	}

	again, _, err := cluster.Read(t.Context(), c.Config, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(objs, again); diff != "" {
		t.Errorf("a second read of the unchanged cluster differs (-first +second):\n%s", diff)
	}
}

func contains(s []string, v string) bool {
	for _, e := range s {
		if e == v {
			return true
		}
	}
	return false
}

func TestReadMissingResources(t *testing.T) {
	// A cluster of its own: the shared one has the CRDs installed.
	c := testcluster.Start(t)
	objs, notes, err := cluster.Read(t.Context(), c.Config, "bare", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range notes {
		got = append(got, string(n.Kind)+" "+n.Resource)
		if n.Rule != nil {
			t.Errorf("missing resource %s has an RBAC rule", n.Resource)
		}
	}
	want := []string{
		"missing constrainttemplates.templates.gatekeeper.sh",
		"missing *.constraints.gatekeeper.sh",
		"missing clusterpolicies.kyverno.io",
		"missing policies.kyverno.io",
		"missing policyexceptions.kyverno.io",
		"missing validatingpolicies.policies.kyverno.io",
		"missing policyexceptions.policies.kyverno.io",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	for _, o := range objs {
		if !strings.HasPrefix(o.Source.File, "cluster:bare/core/Namespace/") {
			t.Errorf("unexpected object %s", o.Source.File)
		}
	}
}

func TestReadRBAC(t *testing.T) {
	c := setup(t)
	ctx := t.Context()
	cfg, name, err := cluster.LoadConfig(c.LimitedKubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	if name != "threatcov-test-limited" {
		t.Errorf("context %q, want the kubeconfig's current context", name)
	}
	objs, notes, err := cluster.Read(ctx, cfg, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 0 {
		t.Errorf("the limited user read %d objects", len(objs))
	}
	var got []cluster.Rule
	for _, n := range notes {
		if n.Kind != cluster.NoteForbidden || n.Rule == nil {
			t.Errorf("note %+v, want forbidden with a rule", n)
			continue
		}
		got = append(got, *n.Rule)
		if !strings.Contains(n.Message, "grant the RBAC rule "+n.Rule.String()) {
			t.Errorf("message %q does not name the rule", n.Message)
		}
	}
	list := []string{"list"}
	want := []cluster.Rule{
		{APIGroups: []string{"templates.gatekeeper.sh"}, Resources: []string{"constrainttemplates"}, Verbs: list},
		{APIGroups: []string{"constraints.gatekeeper.sh"}, Resources: []string{"k8sreaderhostpid"}, Verbs: list},
		{APIGroups: []string{"kyverno.io"}, Resources: []string{"clusterpolicies"}, Verbs: list},
		{APIGroups: []string{"kyverno.io"}, Resources: []string{"policies"}, Verbs: list},
		{APIGroups: []string{"kyverno.io"}, Resources: []string{"policyexceptions"}, Verbs: list},
		{APIGroups: []string{"policies.kyverno.io"}, Resources: []string{"validatingpolicies"}, Verbs: list},
		{APIGroups: []string{"policies.kyverno.io"}, Resources: []string{"policyexceptions"}, Verbs: list},
		{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingadmissionpolicies"}, Verbs: list},
		{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingadmissionpolicybindings"}, Verbs: list},
		{APIGroups: []string{"admissionregistration.k8s.io"}, Resources: []string{"validatingwebhookconfigurations"}, Verbs: list},
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: list},
	}
	// Other tests of the package may add constraint kinds; compare the rest exactly.
	got = slicesDeleteFunc(got, func(r cluster.Rule) bool {
		return r.APIGroups[0] == cluster.ConstraintGroup && r.Resources[0] != "k8sreaderhostpid"
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("forbidden rules (-want +got):\n%s", diff)
	}

	// The ClusterRole docs/cluster.md prints is enough: bound to it, the limited user reads
	// what the admin reads, without a note.
	role, err := os.ReadFile("testdata/clusterrole-reader.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile("../docs/cluster.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(docs), string(role)) {
		t.Errorf("docs/cluster.md does not hold testdata/clusterrole-reader.yaml verbatim")
	}
	if _, err := c.ApplyYAML(ctx, role); err != nil {
		t.Fatal(err)
	}
	binding := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
		"metadata": map[string]any{"name": "threatcov-reader-limited"},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "threatcov-reader"},
		"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": testcluster.LimitedUser}},
	}}
	if _, err := c.Apply(ctx, binding); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Client.RbacV1().ClusterRoleBindings().Delete(context.Background(), "threatcov-reader-limited", metav1.DeleteOptions{})
	})
	admin, _, err := cluster.Read(ctx, c.Config, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	// RBAC reaches the authorizer through an informer: retry briefly.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		objs, notes, err = cluster.Read(ctx, cfg, name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(notes) != 0 {
		t.Errorf("bound to threatcov-reader, the limited user still gets notes: %v", notes)
	}
	if diff := cmp.Diff(admin, objs); diff != "" {
		t.Errorf("the reader role reads differently from the admin (-admin +reader):\n%s", diff)
	}
}

func slicesDeleteFunc[T any](s []T, del func(T) bool) []T {
	var out []T
	for _, v := range s {
		if !del(v) {
			out = append(out, v)
		}
	}
	return out
}

func TestExportLoadsToTheSameInventory(t *testing.T) {
	c := setup(t)
	objs, _, err := cluster.Read(t.Context(), c.Config, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// A file of an earlier export the cluster no longer has, and a file of the user's.
	stale := filepath.Join(dir, "kyverno.io_clusterpolicy_gone.yaml")
	mine := filepath.Join(dir, "mine.yaml")
	for path, data := range map[string]string{
		stale: "# threatcov policies export from cluster:test/kyverno.io/ClusterPolicy/gone\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: gone}\n",
		mine:  "apiVersion: v1\nkind: Namespace\nmetadata: {name: mine}\n",
	} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	paths, err := cluster.Export(dir, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != len(objs) {
		t.Errorf("wrote %d files for %d objects", len(paths), len(objs))
	}
	for _, p := range []string{
		"kyverno.io_policy_reader-team_audit-host-pid.yaml",
		"templates.gatekeeper.sh_constrainttemplate_k8sreaderhostpid.yaml",
		"core_namespace_reader-baseline.yaml",
	} {
		if !contains(paths, filepath.Join(dir, p)) {
			t.Errorf("no file %s in %v", p, paths)
		}
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale export %s was kept (%v)", stale, err)
	}
	if err := os.Remove(mine); err != nil {
		t.Errorf("the user's file was not kept: %v", err)
	}

	fromFiles, err := policies.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	fromCluster, err := policies.FromObjects(objs)
	if err != nil {
		t.Fatal(err)
	}
	// Sources differ by design (file vs cluster); everything else must not.
	ignore := []cmp.Option{
		cmpopts.IgnoreUnexported(policies.Inventory{}, policies.Policy{}),
		cmpopts.IgnoreFields(policies.Policy{}, "Source"),
		cmpopts.IgnoreFields(policies.Namespace{}, "Source"),
	}
	if diff := cmp.Diff(fromCluster, fromFiles, ignore...); diff != "" {
		t.Errorf("inventory from the export differs from the cluster's (-cluster +files):\n%s", diff)
	}
	if len(fromFiles.Policies) == 0 {
		t.Fatal("empty inventory")
	}

	// Exporting an unchanged cluster again rewrites identical files.
	before := readAll(t, dir)
	if _, err := cluster.Export(dir, objs); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, readAll(t, dir)); diff != "" {
		t.Errorf("a second export differs:\n%s", diff)
	}
}

func readAll(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(data)
	}
	return out
}
