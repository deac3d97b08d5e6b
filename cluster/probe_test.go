package cluster_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/cluster"
	"github.com/threatcov/threatcov/internal/testcluster"
	"github.com/threatcov/threatcov/probes"
)

// waitVAP waits until the API server enforces the fixture's ValidatingAdmissionPolicy,
// which it loads through an informer after the create returns.
func waitVAP(t *testing.T, c *testcluster.Cluster, probe probes.Probe) {
	t.Helper()
	p, err := cluster.NewLiveProber(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		probe.Name += "+" // a fresh cache key per try
		if p.DryRun(t.Context(), probe, nsVAP).Denied {
			return
		}
	}
	t.Fatal("the ValidatingAdmissionPolicy was not enforced within 30s")
}

func defaultProbes(t *testing.T) map[string]probes.Probe {
	t.Helper()
	list, err := probes.Default()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]probes.Probe{}
	for _, p := range list {
		out[p.Name] = p
	}
	return out
}

func TestLiveProberHostPID(t *testing.T) {
	c := setup(t)
	ps := defaultProbes(t)
	waitVAP(t, c, ps["host-pid/pod"])
	prober, err := cluster.NewLiveProber(c.Config)
	if err != nil {
		t.Fatal(err)
	}

	type verdict struct {
		Denied bool
		By     string
	}
	tests := []struct {
		probe, namespace string
		want             verdict
		// contains are substrings of the message: what the report shows.
		contains []string
	}{
		{"host-pid/pod", nsBaseline, verdict{true, "psa"}, []string{`violates PodSecurity "baseline:latest": host namespaces (hostPID=true)`}},
		// Pod Security only warns on a Deployment; the Pod it would create is denied.
		{"host-pid/deployment", nsBaseline, verdict{true, "psa"}, []string{
			`Deployment "host-pid-deployment" was admitted (warnings: would violate PodSecurity "baseline:latest"`,
			`but the Pod Deployment "host-pid-deployment" would create is denied: pods "host-pid-deployment-pod" is forbidden: violates PodSecurity`,
		}},
		{"host-pid/cronjob", nsBaseline, verdict{true, "psa"}, []string{"would violate PodSecurity", `the Pod CronJob "host-pid-cronjob" would create is denied`}},
		{"host-pid/pod", nsVAP, verdict{true, "vap"}, []string{"ValidatingAdmissionPolicy 'reader-deny-host-pid' with binding 'reader-deny-host-pid' denied request: sharing the host PID namespace is not allowed"}},
		// The policy matches pods only: the Deployment passes, its Pod does not.
		{"host-pid/deployment", nsVAP, verdict{true, "vap"}, []string{`Deployment "host-pid-deployment" was admitted, but the Pod`, "ValidatingAdmissionPolicy 'reader-deny-host-pid'"}},
		{"host-pid/pod", nsOpen, verdict{}, nil},
		{"host-pid/deployment", nsOpen, verdict{}, nil},
		{"host-pid/cronjob", nsOpen, verdict{}, nil},
		// kubectl debug on the running target pod.
		{"privileged-container/ephemeralcontainer", nsBaseline, verdict{true, "psa"}, []string{`violates PodSecurity "baseline:latest": privileged`, "(ephemeral container added to the existing pod reader-baseline/target)"}},
		{"privileged-container/ephemeralcontainer", nsOpen, verdict{}, []string{"(ephemeral container added to the existing pod reader-open/target)"}},
		// A restricted-level violation passes baseline.
		{"run-as-root/pod", nsBaseline, verdict{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.probe+"@"+tt.namespace, func(t *testing.T) {
			probe, ok := ps[tt.probe]
			if !ok {
				t.Fatalf("no default probe %s", tt.probe)
			}
			got := prober.DryRun(t.Context(), probe, tt.namespace)
			if got.Err != "" {
				t.Fatalf("error %q, want a verdict", got.Err)
			}
			if diff := cmp.Diff(tt.want, verdict{got.Denied, got.By}); diff != "" {
				t.Errorf("verdict (-want +got):\n%s\nmessage: %s", diff, got.Message)
			}
			for _, want := range tt.contains {
				if !strings.Contains(got.Message, want) {
					t.Errorf("message %q lacks %q", got.Message, want)
				}
			}
		})
	}
	assertNothingPersisted(t, c)
}

// TestLiveProberDefaultProbes sends every default probe into the unlabelled namespace, where
// nothing denies, and the baseline one: the API server must accept each probe as a valid
// object (an error would hide a denial), and baseline must deny the host-* families.
func TestLiveProberDefaultProbes(t *testing.T) {
	c := setup(t)
	prober, err := cluster.NewLiveProber(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	list, err := probes.Default()
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	var needsPod, deniedBaseline int
	for _, p := range list {
		open := prober.DryRun(t.Context(), p, nsOpen)
		base := prober.DryRun(t.Context(), p, nsBaseline)
		switch {
		case p.Operation == "CONNECT":
			needsPod++
			for _, v := range []analyzer.LiveVerdict{open, base} {
				if !strings.HasPrefix(v.Err, cluster.ErrNeedsPod) {
					t.Errorf("%s: %+v, want the %q error", p.Name, v, cluster.ErrNeedsPod)
				}
			}
			continue
		case open.Err != "" || open.Denied:
			t.Errorf("%s in %s: %+v, want admitted", p.Name, nsOpen, open)
		case base.Err != "":
			t.Errorf("%s in %s: error %s", p.Name, nsBaseline, base.Err)
		}
		if base.Denied {
			deniedBaseline++
			if base.By != "psa" {
				t.Errorf("%s in %s: denied by %s", p.Name, nsBaseline, base.By)
			}
		}
		if (strings.HasPrefix(p.Family, "host-") || strings.HasPrefix(p.Family, "privileged")) && p.Object["kind"] != "Service" && !base.Denied {
			t.Errorf("%s in %s: admitted, want denied by Pod Security baseline (%s)", p.Name, nsBaseline, base.Message)
		}
	}
	t.Logf("%d probes x 2 namespaces in %v: %d denied in %s, %d need an existing pod",
		len(list), time.Since(begin).Round(time.Millisecond), deniedBaseline, nsBaseline, needsPod)
	if needsPod == 0 || deniedBaseline == 0 {
		t.Errorf("needsPod %d, deniedBaseline %d: the default probes changed shape", needsPod, deniedBaseline)
	}
	assertNothingPersisted(t, c)
}

func TestLiveProberErrors(t *testing.T) {
	c := setup(t)
	ps := defaultProbes(t)
	ctx := t.Context()
	// A namespace without its default ServiceAccount: 403 like a Pod Security denial.
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "probe-no-sa",
		Labels: map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	admin, err := cluster.NewLiveProber(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	limitedCfg, _, err := cluster.LoadConfig(c.LimitedKubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	limited, err := cluster.NewLiveProber(limitedCfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		prober    *cluster.LiveProber
		probe     string
		namespace string
		err       string
	}{
		{"rbac", limited, "host-pid/pod", nsBaseline, `User "limited" cannot create resource "pods"`},
		{"rbac on a workload", limited, "host-pid/deployment", nsBaseline, `User "limited" cannot create resource "deployments"`},
		{"missing namespace", admin, "host-pid/pod", "reader-nowhere", `namespaces "reader-nowhere" not found`},
		{"ephemeral container without a pod", admin, "privileged-container/ephemeralcontainer", nsVAP, cluster.ErrNeedsPod + ": no running pod in namespace " + nsVAP},
		{"exec", admin, "pod-exec/exec", nsOpen, cluster.ErrNeedsPod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := ps[tt.probe]
			if !ok {
				t.Fatalf("no default probe %s", tt.probe)
			}
			got := tt.prober.DryRun(ctx, p, tt.namespace)
			if got.Denied || !strings.Contains(got.Err, tt.err) {
				t.Errorf("%+v, want not denied with an error containing %q", got, tt.err)
			}
		})
	}
	// Not a denial: the ServiceAccount admission plugin refuses the pod before Pod Security
	// looks at it, so the error is reported, not counted as blocked.
	got := admin.DryRun(ctx, ps["host-pid/pod"], "probe-no-sa")
	if got.Denied || !strings.Contains(got.Err, "error looking up service account probe-no-sa/default") {
		t.Errorf("no ServiceAccount: %+v, want the lookup error", got)
	}
	assertNothingPersisted(t, c)
}

// assertNothingPersisted looks up every default probe's object by name in the test
// namespaces, and lists all workloads: dry-runs leave none behind.
func assertNothingPersisted(t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	ctx := context.Background()
	dyn, err := c.Dynamic()
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client.Discovery()))
	// The target pods keep no ephemeral container: the dry-run updates left them as they were.
	pods, err := c.Client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, pod := range pods.Items {
		if pod.Name != targetPod {
			t.Errorf("dry-runs persisted the pod %s/%s", pod.Namespace, pod.Name)
		}
		if len(pod.Spec.EphemeralContainers) != 0 {
			t.Errorf("dry-runs persisted ephemeral containers in %s/%s: %v", pod.Namespace, pod.Name, pod.Spec.EphemeralContainers)
		}
	}
	for _, gvr := range []schema.GroupVersionResource{
		{Group: "apps", Version: "v1", Resource: "deployments"},
		{Group: "batch", Version: "v1", Resource: "cronjobs"},
	} {
		list, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 0 {
			t.Errorf("dry-runs persisted %d %s, want none (no test here creates one)", len(list.Items), gvr.Resource)
		}
	}
	ps, err := probes.Default()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, p := range ps {
		if p.Operation == "CONNECT" || p.SubResource != "" {
			continue // never sent
		}
		obj := unstructured.Unstructured{Object: p.Object}
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		var ri dynamicGetter = dyn.Resource(m.Resource)
		namespaces := []string{""}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			namespaces = []string{nsOpen, nsBaseline, nsVAP}
		}
		for _, ns := range namespaces {
			if ns != "" {
				ri = dyn.Resource(m.Resource).Namespace(ns)
			}
			_, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				t.Errorf("%s: %s %s/%s exists after the dry-runs (%v)", p.Name, gvk.Kind, ns, obj.GetName(), err)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Error("no probe object checked")
	}
}

type dynamicGetter interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions, subresources ...string) (*unstructured.Unstructured, error)
}

// Prefetch answers as the one-at-a-time path does.
func TestLiveProberPrefetch(t *testing.T) {
	c := setup(t)
	ps := defaultProbes(t)
	waitVAP(t, c, ps["host-pid/pod"])
	var list []probes.Probe
	for _, name := range []string{"host-pid/pod", "host-pid/deployment", "host-pid/cronjob", "privileged-container/pod", "cluster-admin-binding/clusterrolebinding", "privileged-container/ephemeralcontainer"} {
		p, ok := ps[name]
		if !ok {
			t.Fatalf("no default probe %s", name)
		}
		list = append(list, p)
	}
	namespaces := []string{nsBaseline, nsOpen, nsVAP}
	prefetched, err := cluster.NewLiveProber(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	prefetched.Prefetch(t.Context(), list, namespaces)
	sequential, err := cluster.NewLiveProber(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		for _, ns := range namespaces {
			want := sequential.DryRun(t.Context(), p, ns)
			if diff := cmp.Diff(want, prefetched.DryRun(t.Context(), p, ns)); diff != "" {
				t.Errorf("%s@%s (-sequential +prefetched):\n%s", p.Name, ns, diff)
			}
		}
	}
	assertNothingPersisted(t, c)
}

// TestLiveProberRole: bound to the Roles docs/cluster.md prints, a user without other rights
// observes every denial an administrator observes, workloads' Pods sent as their controllers;
// only the probes the docs say need more (cluster-scoped kinds, RBAC objects granting more
// than the caller holds) differ, as errors.
func TestLiveProberRole(t *testing.T) {
	c := setup(t)
	ctx := t.Context()
	role, err := os.ReadFile("testdata/role-live-prober.yaml")
	if err != nil {
		t.Fatal(err)
	}
	impersonate, err := os.ReadFile("testdata/role-impersonate-controllers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile("../docs/cluster.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"role-live-prober.yaml": role, "role-impersonate-controllers.yaml": impersonate} {
		if !strings.Contains(string(docs), string(data)) {
			t.Errorf("docs/cluster.md does not hold testdata/%s verbatim", name)
		}
	}
	const ns = "threatcov-probes" // the namespace the docs' Role is written for
	if err := c.CreateNamespace(ctx, ns, map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: targetPod}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10"}},
	}}
	if _, err := c.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ApplyYAML(ctx, role); err != nil {
		t.Fatal(err)
	}
	binding := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
		"metadata": map[string]any{"name": "threatcov-live-prober", "namespace": ns},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "threatcov-live-prober"},
		"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": testcluster.LimitedUser}},
	}}
	if _, err := c.ApplyYAML(ctx, impersonate); err != nil {
		t.Fatal(err)
	}
	impersonateBinding := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
		"metadata": map[string]any{"name": "threatcov-impersonate-controllers", "namespace": "kube-system"},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "threatcov-impersonate-controllers"},
		"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": testcluster.LimitedUser}},
	}}
	if _, err := c.Apply(ctx, binding, impersonateBinding); err != nil {
		t.Fatal(err)
	}
	limitedCfg, _, err := cluster.LoadConfig(c.LimitedKubeconfig, "")
	if err != nil {
		t.Fatal(err)
	}
	// RBAC reaches the authorizer through an informer: wait until the binding applies.
	ps := defaultProbes(t)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		p, err := cluster.NewLiveProber(limitedCfg)
		if err != nil {
			t.Fatal(err)
		}
		v := p.DryRun(ctx, ps["host-pid/deployment"], ns)
		if v.Denied && len(p.Notes()) == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the Roles did not apply within 30s: %+v %q", v, p.Notes())
		}
	}
	admin, err := cluster.NewLiveProber(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	limited, err := cluster.NewLiveProber(limitedCfg)
	if err != nil {
		t.Fatal(err)
	}
	list, err := probes.Default()
	if err != nil {
		t.Fatal(err)
	}
	var differ []string
	for _, p := range list {
		a, l := admin.DryRun(ctx, p, ns), limited.DryRun(ctx, p, ns)
		if cmp.Equal(a, l) {
			continue
		}
		kind, _ := p.Object["kind"].(string)
		needsMore := map[string]bool{"ClusterRole": true, "ClusterRoleBinding": true, "CertificateSigningRequest": true, "Role": true, "RoleBinding": true}[kind]
		if !needsMore || a.Denied || !strings.Contains(l.Err, "forbidden") {
			t.Errorf("%s: admin %+v, prober role %+v", p.Name, a, l)
		}
		differ = append(differ, p.Name)
	}
	if notes := limited.Notes(); len(notes) != 0 {
		t.Errorf("with the documented Roles the prober could not do as asked: %q", notes)
	}
	t.Logf("with the documented Roles, %d of %d probes answer as for an administrator; differ: %v", len(list)-len(differ), len(list), differ)
	assertNothingPersisted(t, c)
}

// The Role docs/cluster.md prints names exactly the service accounts of the controllers that
// create workloads' Pods (probes.Controller), so the prober can impersonate each of them.
func TestImpersonateRoleNamesEveryController(t *testing.T) {
	for _, f := range []string{"role-impersonate-controllers.yaml", "role-impersonate-controllers-constrained.yaml"} {
		data, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		// The first document is the Role in kube-system.
		first, _, _ := strings.Cut(string(data), "\n---\n")
		var role struct {
			Rules []struct {
				ResourceNames []string `json:"resourceNames"`
			} `json:"rules"`
		}
		if err := yaml.Unmarshal([]byte(first), &role); err != nil || len(role.Rules) != 1 {
			t.Fatalf("%s: %v, %d rules", f, err, len(role.Rules))
		}
		checkControllerNames(t, f, role.Rules[0].ResourceNames)
	}
}

func checkControllerNames(t *testing.T, file string, names []string) {
	t.Helper()
	want := map[string]bool{}
	for _, kind := range []string{"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicationController"} {
		u, ok := probes.Controller(kind)
		if !ok {
			t.Fatalf("no controller for %s", kind)
		}
		want[strings.TrimPrefix(u.Username, "system:serviceaccount:kube-system:")] = true
	}
	got := map[string]bool{}
	for _, n := range names {
		got[n] = true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: resourceNames (-controllers +role):\n%s", file, diff)
	}
}

// TestLiveProberConstrainedImpersonation: on an API server with constrained impersonation
// (beta, on by default since Kubernetes 1.36), the narrower Roles docs/cluster.md prints let
// the prober send workloads' Pods as their controllers, allowed only to create Pods in the
// probed namespace, and the verdicts equal an administrator's.
func TestLiveProberConstrainedImpersonation(t *testing.T) {
	c := testcluster.Start(t)
	ctx := t.Context()
	docs, err := os.ReadFile("../docs/cluster.md")
	if err != nil {
		t.Fatal(err)
	}
	const ns = "threatcov-probes" // the namespace the docs' Roles are written for
	if err := c.CreateNamespace(ctx, ns, map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"role-live-prober.yaml", "role-impersonate-controllers-constrained.yaml"} {
		data, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(docs), string(data)) {
			t.Errorf("docs/cluster.md does not hold testdata/%s verbatim", f)
		}
		if _, err := c.ApplyYAML(ctx, data); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	var bindings []*unstructured.Unstructured
	for role, namespace := range map[string]string{
		"threatcov-live-prober":                         ns,
		"threatcov-create-pods-as-controllers":          ns,
		"threatcov-impersonate-controllers-constrained": "kube-system",
	} {
		bindings = append(bindings, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
			"metadata": map[string]any{"name": role, "namespace": namespace},
			"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
			"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": testcluster.LimitedUser}},
		}})
	}
	if _, err := c.Apply(ctx, bindings...); err != nil {
		t.Fatal(err)
	}
	ps := defaultProbes(t)
	limited := c.UserConfig(testcluster.LimitedUser)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		p, err := cluster.NewLiveProber(limited)
		if err != nil {
			t.Fatal(err)
		}
		v := p.DryRun(ctx, ps["host-pid/deployment"], ns)
		if v.Denied && len(p.Notes()) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Roles did not let the prober impersonate within 30s: %+v %q", v, p.Notes())
		}
	}
	admin, err := cluster.NewLiveProber(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	prober, err := cluster.NewLiveProber(limited)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range ps {
		if probes.ExpandPod(p.Object) == nil {
			continue
		}
		n++
		if a, l := admin.DryRun(ctx, p, ns), prober.DryRun(ctx, p, ns); !cmp.Equal(a, l) {
			t.Errorf("%s: admin %+v, constrained %+v", p.Name, a, l)
		}
	}
	if notes := prober.Notes(); len(notes) != 0 {
		t.Errorf("the prober could not impersonate: %q", notes)
	}
	t.Logf("%d workload probes answer as for an administrator under constrained impersonation", n)
}
