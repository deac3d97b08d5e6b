package probes

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/testcluster"
)

var update = flag.Bool("update", false, "rewrite golden files")

func defaultProbes(t *testing.T) []Probe {
	t.Helper()
	ps, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	return ps
}

// defaultFamilies parses the embedded families as Default does, for their declared PSA
// expectations.
func defaultFamilies(t *testing.T) map[string]*probeFamily {
	t.Helper()
	base, err := readBase(defaultProbeFS, "families/"+baseFileName, nil)
	if err != nil {
		t.Fatal(err)
	}
	names, err := filepathGlobEmbedded()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*probeFamily{}
	for _, n := range names {
		data, err := defaultProbeFS.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parseFamily(n, data, base)
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = f
	}
	return out
}

func filepathGlobEmbedded() ([]string, error) {
	entries, err := defaultProbeFS.ReadDir("families")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Name() != baseFileName && strings.HasSuffix(e.Name(), ".yaml") {
			out = append(out, "families/"+e.Name())
		}
	}
	return out, nil
}

// decodeStrict turns an unstructured manifest into its registered Go type, rejecting unknown
// fields and kinds the API does not serve.
func decodeStrict(obj map[string]any) (runtime.Object, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, err
	}
	typed, err := scheme.Scheme.New(gv.WithKind(kind))
	if err != nil {
		return nil, err
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj, typed, true); err != nil {
		return nil, err
	}
	return typed, nil
}

type podUnderTest struct {
	what string
	meta *metav1.ObjectMeta
	spec *corev1.PodSpec
}

// podsOf returns every pod spec a probe's request carries: the Pod itself, a workload's
// template, and for an UPDATE the old Pod too.
func podsOf(t *testing.T, p Probe) (newPods, oldPods []podUnderTest) {
	t.Helper()
	extract := func(obj map[string]any, what string) []podUnderTest {
		typed, err := decodeStrict(obj)
		if err != nil {
			t.Fatalf("%s: %s: %v", p.Name, what, err)
		}
		switch o := typed.(type) {
		case *corev1.Pod:
			return []podUnderTest{{what, &o.ObjectMeta, &o.Spec}}
		case *appsv1.Deployment:
			return []podUnderTest{{what + " template", &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec}}
		case *batchv1.CronJob:
			tmpl := &o.Spec.JobTemplate.Spec.Template
			return []podUnderTest{{what + " template", &tmpl.ObjectMeta, &tmpl.Spec}}
		}
		return nil
	}
	newPods = extract(p.Object, "object")
	if p.OldObject != nil {
		oldPods = extract(p.OldObject, "oldObject")
	}
	return newPods, oldPods
}

func TestDefaultProbesAreValidObjects(t *testing.T) {
	for _, p := range defaultProbes(t) {
		t.Run(p.Name, func(t *testing.T) {
			if p.Name != p.Family+"/"+p.Variant {
				t.Errorf("name %q, want family/variant %s/%s", p.Name, p.Family, p.Variant)
			}
			if p.File == "" || p.Line == 0 {
				t.Errorf("no location: %s:%d", p.File, p.Line)
			}
			typed, err := decodeStrict(p.Object)
			if err != nil {
				t.Fatalf("object: %v", err)
			}
			if p.OldObject != nil {
				if _, err := decodeStrict(p.OldObject); err != nil {
					t.Fatalf("oldObject: %v", err)
				}
			}
			md, _ := p.Object["metadata"].(map[string]any)
			if _, ok := md["namespace"]; ok {
				t.Errorf("metadata.namespace is set: the evaluator places probes in the namespace under test")
			}
			switch p.Operation {
			case "CREATE":
				if p.OldObject != nil || p.SubResource != "" {
					t.Errorf("CREATE with oldObject or subresource %q", p.SubResource)
				}
			case "UPDATE":
				if p.OldObject == nil {
					t.Errorf("UPDATE without oldObject")
				}
			case "CONNECT":
				if p.SubResource == "" {
					t.Errorf("CONNECT without a subresource")
				}
			default:
				t.Errorf("operation %q", p.Operation)
			}
			if err := checkObject(typed, p); err != nil {
				t.Error(err)
			}
		})
	}
}

// checkObject holds each kind to the API server's validation rules the probes could plausibly
// break; strict decoding already checked the field names and types.
func checkObject(obj runtime.Object, p Probe) error {
	needName := func(m metav1.ObjectMeta) error {
		if m.Name == "" {
			return fmt.Errorf("metadata.name is empty")
		}
		return nil
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		if err := needName(o.ObjectMeta); err != nil {
			return err
		}
		if p.SubResource == "ephemeralcontainers" {
			if len(o.Spec.EphemeralContainers) == 0 {
				return fmt.Errorf("ephemeralcontainers update adds no ephemeral container")
			}
			old, err := decodeStrict(p.OldObject)
			if err != nil {
				return err
			}
			oldPod := old.(*corev1.Pod)
			if oldPod.Name != o.Name || len(oldPod.Spec.EphemeralContainers) != 0 {
				return fmt.Errorf("oldObject must be the same pod without ephemeral containers")
			}
			oldPod.Spec.EphemeralContainers = o.Spec.EphemeralContainers
			if d := cmp.Diff(oldPod.Spec, o.Spec); d != "" {
				return fmt.Errorf("the update changes more than ephemeralContainers (-old +new):\n%s", d)
			}
		}
		return checkPodSpec(&o.Spec, corev1.RestartPolicyAlways)
	case *appsv1.Deployment:
		if err := needName(o.ObjectMeta); err != nil {
			return err
		}
		sel, err := metav1.LabelSelectorAsSelector(o.Spec.Selector)
		if err != nil || sel.Empty() {
			return fmt.Errorf("deployment selector: %v (empty=%v)", err, sel == nil || sel.Empty())
		}
		if !sel.Matches(labelsSet(o.Spec.Template.Labels)) {
			return fmt.Errorf("deployment selector does not match its template labels")
		}
		return checkPodSpec(&o.Spec.Template.Spec, corev1.RestartPolicyAlways)
	case *batchv1.CronJob:
		if err := needName(o.ObjectMeta); err != nil {
			return err
		}
		if o.Spec.Schedule == "" {
			return fmt.Errorf("cronjob without schedule")
		}
		return checkPodSpec(&o.Spec.JobTemplate.Spec.Template.Spec, corev1.RestartPolicyOnFailure)
	case *corev1.PodExecOptions:
		if len(o.Command) == 0 || o.Container == "" {
			return fmt.Errorf("exec options need a command and a container")
		}
	case *corev1.PodAttachOptions:
		if o.Container == "" {
			return fmt.Errorf("attach options need a container")
		}
	case *corev1.Service:
		if err := needName(o.ObjectMeta); err != nil {
			return err
		}
		if len(o.Spec.Ports) == 0 || len(o.Spec.Selector) == 0 {
			return fmt.Errorf("service needs ports and a selector")
		}
	case *corev1.Secret:
		return needName(o.ObjectMeta)
	default:
		m, err := metaOf(obj)
		if err != nil {
			return err
		}
		return needName(*m)
	}
	return nil
}

func metaOf(obj runtime.Object) (*metav1.ObjectMeta, error) {
	a, ok := obj.(metav1.ObjectMetaAccessor)
	if !ok {
		return nil, fmt.Errorf("%T has no metadata", obj)
	}
	return a.GetObjectMeta().(*metav1.ObjectMeta), nil
}

type labelsSet map[string]string

func (l labelsSet) Has(k string) bool              { _, ok := l[k]; return ok }
func (l labelsSet) Get(k string) string            { return l[k] }
func (l labelsSet) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

func checkPodSpec(spec *corev1.PodSpec, wantRestart corev1.RestartPolicy) error {
	if len(spec.Containers) == 0 {
		return fmt.Errorf("pod spec has no containers")
	}
	if spec.RestartPolicy != "" && spec.RestartPolicy != wantRestart {
		return fmt.Errorf("restartPolicy %s, want %s", spec.RestartPolicy, wantRestart)
	}
	names := map[string]bool{}
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = true
	}
	check := func(kind, name, image string, sc *corev1.SecurityContext, mounts []corev1.VolumeMount) error {
		if name == "" || image == "" {
			return fmt.Errorf("%s container without name or image", kind)
		}
		if names[name] {
			return fmt.Errorf("container name %s used twice", name)
		}
		names[name] = true
		for _, m := range mounts {
			if !volumes[m.Name] {
				return fmt.Errorf("%s container %s mounts unknown volume %s", kind, name, m.Name)
			}
		}
		// The API rejects allowPrivilegeEscalation false with privileged or CAP_SYS_ADMIN.
		if sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
			if sc.Privileged != nil && *sc.Privileged {
				return fmt.Errorf("%s container %s: privileged with allowPrivilegeEscalation false", kind, name)
			}
			if sc.Capabilities != nil && slices.Contains(sc.Capabilities.Add, "SYS_ADMIN") {
				return fmt.Errorf("%s container %s: CAP_SYS_ADMIN with allowPrivilegeEscalation false", kind, name)
			}
		}
		return nil
	}
	for _, c := range spec.Containers {
		if err := check("app", c.Name, c.Image, c.SecurityContext, c.VolumeMounts); err != nil {
			return err
		}
	}
	for _, c := range spec.InitContainers {
		if err := check("init", c.Name, c.Image, c.SecurityContext, c.VolumeMounts); err != nil {
			return err
		}
		if c.LivenessProbe != nil || c.ReadinessProbe != nil || c.StartupProbe != nil || c.Lifecycle != nil {
			return fmt.Errorf("init container %s has probes or lifecycle", c.Name)
		}
	}
	for _, c := range spec.EphemeralContainers {
		if err := check("ephemeral", c.Name, c.Image, c.SecurityContext, c.VolumeMounts); err != nil {
			return err
		}
		if len(c.Ports) > 0 || c.LivenessProbe != nil || c.ReadinessProbe != nil || c.StartupProbe != nil ||
			c.Lifecycle != nil || len(c.Resources.Limits) > 0 || len(c.Resources.Requests) > 0 {
			return fmt.Errorf("ephemeral container %s sets a field ephemeral containers may not have", c.Name)
		}
		if c.TargetContainerName != "" && !names[c.TargetContainerName] {
			return fmt.Errorf("ephemeral container %s targets unknown container %s", c.Name, c.TargetContainerName)
		}
	}
	return nil
}

// failingChecks runs k8s.io/pod-security-admission's own checks at their latest version and
// returns the IDs that deny the pod at the level, honouring the restricted checks' overrides
// as the PSA evaluator does.
func failingChecks(level psaapi.Level, meta *metav1.ObjectMeta, spec *corev1.PodSpec) []string {
	checks := policy.DefaultChecks()
	overridden := map[policy.CheckID]bool{}
	if level == psaapi.LevelRestricted {
		for _, c := range checks {
			if c.Level == psaapi.LevelRestricted {
				for _, id := range c.Versions[len(c.Versions)-1].OverrideCheckIDs {
					overridden[id] = true
				}
			}
		}
	}
	var out []string
	for _, c := range checks {
		if c.Level == psaapi.LevelRestricted && level == psaapi.LevelBaseline {
			continue
		}
		if overridden[c.ID] {
			continue
		}
		if r := c.Versions[len(c.Versions)-1].CheckPod(meta, spec); !r.Allowed {
			out = append(out, string(c.ID))
		}
	}
	sort.Strings(out)
	return out
}

func psaAllows(t *testing.T, level psaapi.Level, meta *metav1.ObjectMeta, spec *corev1.PodSpec) bool {
	t.Helper()
	ev, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := policy.AggregateCheckResults(ev.EvaluatePod(psaapi.LevelVersion{Level: level, Version: psaapi.LatestVersion()}, meta, spec))
	return r.Allowed
}

// TestProbesFailOnlyTheirAttack holds every probe that carries a pod to this: Pod Security
// "restricted" denies it for exactly the checks its family declares, or its alternative where
// that declares its own (none when PSA cannot see the attack), "baseline" denies it only when
// the declared level is baseline, and the Pod before an
// update is fully restricted-compliant. So a probe is denied for its attack, not for a
// careless base.
func TestProbesFailOnlyTheirAttack(t *testing.T) {
	fams := defaultFamilies(t)
	for _, p := range defaultProbes(t) {
		f := fams[p.Family]
		newPods, oldPods := podsOf(t, p)
		for _, pod := range oldPods {
			if got := failingChecks(psaapi.LevelRestricted, pod.meta, pod.spec); len(got) != 0 {
				t.Errorf("%s: %s fails restricted %v: the pod before the attack must be compliant", p.Name, pod.what, got)
			}
		}
		level, checks := f.psa(p.Variant)
		for _, pod := range newPods {
			want := slices.Clone(checks)
			sort.Strings(want)
			got := failingChecks(psaapi.LevelRestricted, pod.meta, pod.spec)
			if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("%s: %s: restricted checks failing (-declared +got):\n%s", p.Name, pod.what, d)
			}
			if allowed := psaAllows(t, psaapi.LevelRestricted, pod.meta, pod.spec); allowed != (len(got) == 0) {
				t.Errorf("%s: %s: PSA evaluator allowed=%v but checks failing %v", p.Name, pod.what, allowed, got)
			}
			baselineDenies := len(failingChecks(psaapi.LevelBaseline, pod.meta, pod.spec)) > 0
			if baselineDenies != (level == "baseline") {
				t.Errorf("%s: %s: baseline denies=%v, declared psaLevel %q", p.Name, pod.what, baselineDenies, level)
			}
			if allowed := psaAllows(t, psaapi.LevelBaseline, pod.meta, pod.spec); allowed == baselineDenies {
				t.Errorf("%s: %s: PSA evaluator baseline allowed=%v disagrees with checks", p.Name, pod.what, allowed)
			}
		}
	}
}

// TestBaseIsRestrictedCompliant: the benign Pod every family patches passes restricted.
func TestBaseIsRestrictedCompliant(t *testing.T) {
	base, err := readBase(defaultProbeFS, "families/"+baseFileName, nil)
	if err != nil {
		t.Fatal(err)
	}
	typed, err := decodeStrict(base)
	if err != nil {
		t.Fatal(err)
	}
	pod := typed.(*corev1.Pod)
	if got := failingChecks(psaapi.LevelRestricted, &pod.ObjectMeta, &pod.Spec); len(got) != 0 {
		t.Errorf("base fails restricted: %v", got)
	}
	if !psaAllows(t, psaapi.LevelRestricted, &pod.ObjectMeta, &pod.Spec) {
		t.Errorf("PSA evaluator denies the base at restricted")
	}
	if err := checkPodSpec(&pod.Spec, corev1.RestartPolicyAlways); err != nil {
		t.Error(err)
	}
	c := pod.Spec.Containers[0]
	if !strings.Contains(c.Image, "@sha256:") || !strings.HasPrefix(c.Image, "registry.example/") {
		t.Errorf("base image %s: want a digest-pinned image from registry.example/", c.Image)
	}
	if c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Errorf("base root filesystem is writable")
	}
	if c.Resources.Limits.Memory().IsZero() || c.Resources.Limits.Cpu().IsZero() {
		t.Errorf("base has no cpu/memory limits")
	}
	if pod.Spec.AutomountServiceAccountToken == nil || *pod.Spec.AutomountServiceAccountToken {
		t.Errorf("base mounts a service account token")
	}
}

// TestVariantsPerScope: pod-level attacks come as whole pods, container attacks also in init
// and ephemeral containers unless the attack needs a field those may not carry.
func TestVariantsPerScope(t *testing.T) {
	fams := defaultFamilies(t)
	got := map[string][]string{}
	for _, p := range defaultProbes(t) {
		got[p.Family] = append(got[p.Family], p.Variant)
	}
	for name, f := range fams {
		var want []string
		switch f.Scope {
		case ScopeObject:
			for _, o := range f.Objects {
				want = append(want, o.Name)
			}
		default:
			want = f.variants()
			for _, a := range f.Alternatives {
				want = append(want, a.Name)
			}
		}
		sort.Strings(want)
		if d := cmp.Diff(want, got[name]); d != "" {
			t.Errorf("%s variants (-want +got):\n%s", name, d)
		}
		if f.Scope == ScopeContainer && len(f.Variants) == 0 {
			for _, v := range []string{VariantInitContainer, VariantEphemeralContainer} {
				if !slices.Contains(got[name], v) && !setsAny(f.Attack.Container, ephemeralForbidden) {
					t.Errorf("%s: container family without %s", name, v)
				}
			}
		}
	}
	// Spot checks of the rules, so a regression in possibleVariants shows by name (alternatives
	// left out).
	for family, want := range map[string][]string{
		"host-pid":                {"cronjob", "deployment", "pod"},
		"host-port":               {"cronjob", "deployment", "pod"},
		"missing-resource-limits": {"cronjob", "deployment", "initcontainer", "pod"},
		"sys-ptrace-capability":   {"cronjob", "deployment", "ephemeralcontainer", "initcontainer", "pod"},
		"privileged-container":    {"cronjob", "deployment", "ephemeralcontainer", "initcontainer", "pod"},
	} {
		generated := slices.DeleteFunc(slices.Clone(got[family]), func(v string) bool { return !slices.Contains(allVariants, v) })
		if d := cmp.Diff(want, generated); d != "" {
			t.Errorf("%s (-want +got):\n%s", family, d)
		}
	}
}

func TestProbesUniqueSortedDeterministic(t *testing.T) {
	a, b := defaultProbes(t), defaultProbes(t)
	if d := cmp.Diff(a, b); d != "" {
		t.Fatalf("two loads differ:\n%s", d)
	}
	seen := map[string]bool{}
	for i, p := range a {
		if seen[p.Name] {
			t.Errorf("duplicate probe %s", p.Name)
		}
		seen[p.Name] = true
		if i > 0 && a[i-1].Name >= p.Name {
			t.Errorf("not sorted: %s before %s", a[i-1].Name, p.Name)
		}
	}
	// Probes must not share maps: a caller that edits one probe must not change another.
	a[0].Object["mutated"] = true
	if _, ok := defaultProbes(t)[0].Object["mutated"]; ok {
		t.Errorf("Default returns shared objects")
	}
	for _, p := range a[1:] {
		if _, ok := p.Object["mutated"]; ok {
			t.Errorf("%s shares its object with %s", p.Name, a[0].Name)
		}
	}
}

// TestProbeIndexGolden pins the list of probes, so adding or losing one is a reviewed change.
func TestProbeIndexGolden(t *testing.T) {
	var b strings.Builder
	for _, p := range defaultProbes(t) {
		kind, _ := p.Object["kind"].(string)
		fmt.Fprintf(&b, "%s\t%s\t%s", p.Name, p.Operation, kind)
		if p.SubResource != "" {
			fmt.Fprintf(&b, "/%s", p.SubResource)
		}
		fmt.Fprintf(&b, "\t%s:%d\n", p.File, p.Line)
	}
	golden := filepath.Join("families", "testdata", "probes.golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./mapping -run TestProbeIndexGolden -update)", err)
	}
	if d := cmp.Diff(string(want), b.String()); d != "" {
		t.Errorf("probe index changed (-golden +got), rerun with -update if intended:\n%s", d)
	}
}

func TestAttackLandsWhereDeclared(t *testing.T) {
	byName := map[string]Probe{}
	for _, p := range defaultProbes(t) {
		byName[p.Name] = p
	}
	dig := func(name string, path ...any) any {
		p, ok := byName[name]
		if !ok {
			t.Fatalf("no probe %s", name)
		}
		var v any = p.Object
		for _, k := range path {
			switch k := k.(type) {
			case string:
				v = v.(map[string]any)[k]
			case int:
				v = v.([]any)[k]
			}
		}
		return v
	}
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"pod carries hostPID", dig("host-pid/pod", "spec", "hostPID"), true},
		{"deployment template carries hostPID", dig("host-pid/deployment", "spec", "template", "spec", "hostPID"), true},
		{"cronjob template carries hostPID", dig("host-pid/cronjob", "spec", "jobTemplate", "spec", "template", "spec", "hostPID"), true},
		{"cronjob pods restart on failure", dig("host-pid/cronjob", "spec", "jobTemplate", "spec", "template", "spec", "restartPolicy"), "OnFailure"},
		{"init container is privileged", dig("privileged-container/initcontainer", "spec", "initContainers", 0, "securityContext", "privileged"), true},
		{"app container next to it is not", dig("privileged-container/initcontainer", "spec", "containers", 0, "securityContext", "privileged"), nil},
		{"ephemeral container is privileged", dig("privileged-container/ephemeralcontainer", "spec", "ephemeralContainers", 0, "securityContext", "privileged"), true},
		{"ephemeral container drops ports", dig("privileged-container/ephemeralcontainer", "spec", "ephemeralContainers", 0, "ports"), nil},
		{"merge patch null deletes", dig("service-account-token-automount/default-automount", "spec", "automountServiceAccountToken"), nil},
		{"alternative is named after itself", dig("docker-socket-mount/containerd-socket", "metadata", "name"), "docker-socket-mount-containerd-socket"},
		{"octal mode survives YAML", dig("configmap-script-exec/pod", "spec", "volumes", 0, "configMap", "defaultMode"), int64(0o755)},
		{"lists are replaced, not merged", len(dig("sys-ptrace-capability/pod", "spec", "containers", 0, "securityContext", "capabilities", "add").([]any)), 1},
		{"root by omission leaves the pod's user unset", dig("run-as-root/image-user", "spec", "securityContext", "runAsUser"), nil},
		{"root by omission leaves the container's flag unset", dig("run-as-root/image-user", "spec", "containers", 0, "securityContext", "runAsNonRoot"), nil},
		{"an add of ALL keeps no drop of ALL", dig("sys-admin-capability/all-capabilities", "spec", "containers", 0, "securityContext", "capabilities", "drop"), nil},
		{"the sidecar is an init container that restarts", dig("host-port/sidecar", "spec", "initContainers", 0, "restartPolicy"), "Always"},
		{"the sidecar carries the hostPort", dig("host-port/sidecar", "spec", "initContainers", 0, "ports", 0, "hostPort"), int64(9090)},
		{"unset seccomp at both levels", dig("unconfined-seccomp/unset", "spec", "containers", 0, "securityContext", "seccompProfile"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, tt.got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func writeProbeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const goodFamily = `name: host-pid-custom
description: Shares the host PID namespace.
scope: pod
attack:
  pod:
    spec:
      hostPID: true
`

func TestLoadProbes(t *testing.T) {
	dir := writeProbeFiles(t, map[string]string{
		"team/host.yaml": goodFamily,
		"team/base.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: registry.internal/web:2@sha256:5fed58266b4653fee21a0fc73e1fea1bf3d9cd27e933a412c4b4f6c8412bcd2f
`,
		"other/exec.yml": `name: exec-custom
description: Opens a shell.
scope: object
objects:
  - name: exec
    operation: CONNECT
    subResource: exec
    object: {apiVersion: v1, kind: PodExecOptions, container: web, command: [sh]}
`,
		"notes.txt": "not a probe",
	})
	ps, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	want := []string{"exec-custom/exec", "host-pid-custom/cronjob", "host-pid-custom/deployment", "host-pid-custom/pod"}
	if d := cmp.Diff(want, names); d != "" {
		t.Fatalf("(-want +got):\n%s", d)
	}
	img := ps[3].Object["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"]
	if !strings.HasPrefix(img.(string), "registry.internal/web") {
		t.Errorf("folder base.yaml not used: image %v", img)
	}
	if ps[3].File != filepath.Join(dir, "team/host.yaml") || ps[3].Line != 1 {
		t.Errorf("location %s:%d", ps[3].File, ps[3].Line)
	}
	// A single file uses the embedded base.
	single, err := Load(filepath.Join(dir, "team/host.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	img = single[2].Object["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"]
	if !strings.HasPrefix(img.(string), "registry.example/") {
		t.Errorf("single file: want the embedded base, image %v", img)
	}
}

func TestLoadProbesErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string // "file:line: message" with file relative to the folder
	}{
		{"unknown field", map[string]string{"a.yaml": "name: a\ndescription: x\nscope: pod\nattak: {}\n"},
			"a.yaml:4: field attak not found"},
		{"bad scope", map[string]string{"a.yaml": "name: a\ndescription: x\nscope: node\n"},
			`a.yaml:1: family a: scope "node": use pod, container or object`},
		{"container family patching the pod", map[string]string{"a.yaml": "name: a\ndescription: x\nscope: container\nattack:\n  pod: {spec: {hostPID: true}}\n"},
			"a.yaml:1: family a: a container family patches only the container"},
		{"variant that cannot carry the attack", map[string]string{"a.yaml": "name: a\ndescription: x\nscope: container\nvariants: [ephemeralcontainer]\nattack:\n  container: {ports: [{containerPort: 1, hostPort: 1}]}\n"},
			`a.yaml:1: family a: variant "ephemeralcontainer" cannot carry this attack`},
		{"object without kind", map[string]string{"a.yaml": "name: a\ndescription: x\nscope: object\nobjects:\n  - name: o\n    object: {apiVersion: v1}\n"},
			"a.yaml:5: family a: object o: the manifest needs kind"},
		{"update without old object", map[string]string{"a.yaml": "name: a\ndescription: x\nscope: object\nobjects:\n  - name: o\n    operation: UPDATE\n    object: {apiVersion: v1, kind: Pod}\n"},
			"a.yaml:5: family a: object o: an UPDATE needs oldObject"},
		{"two documents", map[string]string{"a.yaml": goodFamily + "---\n" + strings.Replace(goodFamily, "host-pid-custom", "b", 1)},
			"a.yaml:9: one probe family per file"},
		{"bad family name", map[string]string{"a.yaml": strings.Replace(goodFamily, "host-pid-custom", "Host PID", 1)},
			`a.yaml:1: family name "Host PID" must be lower-case`},
		{"missing description", map[string]string{"a.yaml": strings.Replace(goodFamily, "description: Shares the host PID namespace.\n", "", 1)},
			"a.yaml:1: family host-pid-custom: add a description"},
		{"psa level without checks", map[string]string{"a.yaml": goodFamily + "psaLevel: baseline\n"},
			"a.yaml:1: family host-pid-custom: psaLevel and psaChecks go together"},
		{"duplicate family", map[string]string{"a.yaml": goodFamily, "b.yaml": goodFamily},
			"b.yaml:1: probe family host-pid-custom is also defined in"},
		{"broken yaml", map[string]string{"a.yaml": "name: a\n  scope: [\n"},
			"a.yaml:2:"},
		{"base that is not a pod", map[string]string{"a.yaml": goodFamily, "base.yaml": "apiVersion: apps/v1\nkind: Deployment\n"},
			"base.yaml:1: a probe base must be one Pod"},
		{"typo in the attack patch", map[string]string{"a.yaml": "name: a\ndescription: x\nscope: container\nattack:\n  container: {securityContext: {priviledged: true}}\n"},
			`a.yaml:1: probe a/pod: not a valid Pod: strict decoding error: unknown field "spec.containers[0].securityContext.priviledged"`},
		{"wrong type in an object", map[string]string{"a.yaml": "name: a\ndescription: x\nscope: object\nobjects:\n  - name: o\n    object: {apiVersion: v1, kind: Service, metadata: {name: s}, spec: {ports: 80}}\n"},
			"a.yaml:5: probe a/o: not a valid Service:"},
		{"alternative psa level without checks", map[string]string{"a.yaml": goodFamily + "alternatives:\n  - name: alt\n    psaLevel: restricted\n    attack: {pod: {spec: {hostIPC: true}}}\n"},
			"a.yaml:9: family host-pid-custom: alternative alt: psaLevel and psaChecks go together"},
		{"alternative psa check that is no ID", map[string]string{"a.yaml": goodFamily + "alternatives:\n  - name: alt\n    psaLevel: baseline\n    psaChecks: [host namespaces]\n    attack: {pod: {spec: {hostIPC: true}}}\n"},
			`a.yaml:9: family host-pid-custom: alternative alt: psaChecks: "host namespaces" is not a Pod Security check ID`},
		{"benign twin of another kind", map[string]string{"a.yaml": "name: a\ndescription: x\nscope: object\nobjects:\n  - name: o\n    object: {apiVersion: v1, kind: Service}\n    benign: {apiVersion: v1, kind: ConfigMap}\n"},
			"a.yaml:5: family a: object o: benign kind ConfigMap differs from the object's Service"},
		{"benign old object on a create", map[string]string{"a.yaml": "name: a\ndescription: x\nscope: object\nobjects:\n  - name: o\n    object: {apiVersion: v1, kind: Service}\n    benign: {apiVersion: v1, kind: Service}\n    benignOldObject: {apiVersion: v1, kind: Service}\n"},
			"a.yaml:5: family a: object o: benignOldObject only goes with operation UPDATE"},
		{"attack that deletes the containers", map[string]string{"a.yaml": "name: a\ndescription: x\nscope: pod\nattack:\n  pod: {spec: {containers: null}}\n"},
			"a.yaml:1: family a: after the attack patch: the Pod has no containers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeProbeFiles(t, tt.files)
			_, err := Load(dir)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("error\n  %s\nwant prefix\n  %s", got, tt.want)
			}
		})
	}
}

// TestAlternativePSAAndObjectTwins: an alternative's own psaLevel/psaChecks replace the
// family's for its probe only, and an object's benign twin is loaded like its object (JSON
// numbers, strict validation) and named after it.
func TestAlternativePSAAndObjecttwinsOf(t *testing.T) {
	dir := writeProbeFiles(t, map[string]string{
		"root.yaml": `name: root-custom
description: Runs as root.
scope: container
psaLevel: restricted
psaChecks: [runAsNonRoot, runAsUser]
attack:
  container: {securityContext: {runAsNonRoot: false, runAsUser: 0}}
alternatives:
  - name: image-user
    psaLevel: restricted
    psaChecks: [runAsNonRoot]
    attack:
      pod: {spec: {securityContext: {runAsNonRoot: null, runAsUser: null}}}
      container: {securityContext: {runAsNonRoot: null, runAsUser: null}}
`,
		"svc.yaml": `name: svc-custom
description: Exposes a Service.
scope: object
objects:
  - name: nodeport
    object: {apiVersion: v1, kind: Service, metadata: {name: a}, spec: {type: NodePort, selector: {app: a}, ports: [{port: 80}]}}
    benign: {apiVersion: v1, kind: Service, metadata: {name: a}, spec: {type: ClusterIP, selector: {app: a}, ports: [{port: 80}]}}
`,
	})
	f, err := loadFamilyFile(filepath.Join(dir, "root.yaml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		variant, level string
		checks         []string
	}{
		{"pod", "restricted", []string{"runAsNonRoot", "runAsUser"}},
		{"initcontainer", "restricted", []string{"runAsNonRoot", "runAsUser"}},
		{"image-user", "restricted", []string{"runAsNonRoot"}},
	} {
		level, checks := f.psa(tt.variant)
		if level != tt.level || !slices.Equal(checks, tt.checks) {
			t.Errorf("%s: psa %q %v, want %q %v", tt.variant, level, checks, tt.level, tt.checks)
		}
	}
	ps, err := Load(filepath.Join(dir, "svc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Twin == nil {
		t.Fatalf("want one probe with a twin, got %+v", ps)
	}
	tw := ps[0].Twin
	if tw.Name != "svc-custom/nodeport~benign" || tw.Family != TwinFamily || tw.Operation != "CREATE" {
		t.Errorf("twin %s (family %s, %s)", tw.Name, tw.Family, tw.Operation)
	}
	port := tw.Object["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)["port"]
	if port != int64(80) {
		t.Errorf("twin port %v (%T), want int64 80 like the object's", port, port)
	}
	typo := `name: a
description: x
scope: object
objects:
  - name: o
    object: {apiVersion: v1, kind: Service, metadata: {name: a}, spec: {selector: {app: a}, ports: [{port: 80}]}}
    benign: {apiVersion: v1, kind: Service, metadata: {name: a}, spec: {selectr: {app: a}, ports: [{port: 80}]}}
`
	if _, err := Load(writeProbeFiles(t, map[string]string{"a.yaml": typo})); err == nil || !strings.Contains(err.Error(), "a/o~benign") {
		t.Errorf("a twin with an unknown field: error %v, want one naming a/o~benign", err)
	}
}

func TestLoadProbesMissingPath(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("error %v, want one naming the missing path", err)
	}
}

// TestFamilyStepsAreCatalogLabels: the steps a family says it performs are labels of the
// embedded catalog (as drawn, with the bracket reference), so the mapping author can trust them.
func TestFamilyStepsAreCatalogLabels(t *testing.T) {
	c, err := attacktrees.Default()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string]bool{}
	for _, n := range c.Nodes() {
		labels[n.Label] = true
	}
	// Labels keep their text; the bracket reference ([M9], (D14), [D13)) is the node's ref.
	ref := regexp.MustCompile(`\s*[\[(][A-Z]*[0-9]+[\])]$`)
	for name, f := range defaultFamilies(t) {
		if len(f.Steps) == 0 {
			t.Errorf("%s: no steps: say which catalog leaves the family performs", name)
		}
		for _, s := range f.Steps {
			if l := ref.ReplaceAllString(s, ""); !labels[l] {
				t.Errorf("%s: step %q is not a catalog label", name, l)
			}
		}
	}
}

func BenchmarkDefaultProbes(b *testing.B) {
	for b.Loop() {
		if _, err := Default(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestProbesAgainstRealAPIServer sends every probe to a real kube-apiserver (dry run): in an
// unlabelled namespace each one passes the API server's own validation and admission, so it
// is a request the cluster would accept; in a namespace that enforces Pod Security
// "restricted", exactly the Pods and ephemeral-container updates of families with psaChecks
// are refused. Every benign twin is accepted in both. CONNECT probes need a kubelet and are
// not sent.
func TestProbesAgainstRealAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	c := testcluster.Start(t)
	ctx := t.Context()
	// A warning (a duplicate port, a deprecated field) means the probe is not as clean as it
	// should be: collect them and fail the probe that caused them.
	warnings := &warningRecorder{}
	cfg := rest.CopyConfig(c.Config)
	cfg.WarningHandler = warnings
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client.Discovery()))
	const open, restricted = "probes-open", "probes-restricted"
	if err := c.CreateNamespace(ctx, open, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateNamespace(ctx, restricted, map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	}); err != nil {
		t.Fatal(err)
	}
	fams := defaultFamilies(t)
	dryRun := []string{metav1.DryRunAll}
	send := func(p Probe, ns string) error {
		obj := &unstructured.Unstructured{Object: DeepCopy(p.Object)}
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("no resource for %v: %w", gvk, err)
		}
		var res dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			res = dyn.Resource(m.Resource).Namespace(ns)
		}
		if p.Operation == "CREATE" {
			_, err := res.Create(ctx, obj, metav1.CreateOptions{DryRun: dryRun})
			return err
		}
		// An ephemeral-container update needs the pod to exist: create the old object for real.
		old := &unstructured.Unstructured{Object: DeepCopy(p.OldObject)}
		old.SetName(fmt.Sprintf("%s-%d", old.GetName(), len(ns)))
		created, err := res.Create(ctx, old, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create the pod to update: %w", err)
		}
		defer res.Delete(ctx, created.GetName(), metav1.DeleteOptions{})
		obj.SetName(created.GetName())
		obj.SetResourceVersion(created.GetResourceVersion())
		_, err = res.Update(ctx, obj, metav1.UpdateOptions{DryRun: dryRun}, p.SubResource)
		return err
	}
	all := defaultProbes(t)
	// The benign twins are requests a correct policy admits: the cluster must accept them too.
	all = append(all, twinsOf(all)...)
	for _, p := range all {
		if p.Operation == "CONNECT" {
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			warnings.take()
			if err := send(p, open); err != nil {
				t.Errorf("refused in an unlabelled namespace: %v", err)
			}
			if w := warnings.take(); len(w) > 0 {
				t.Errorf("API server warnings: %v", w)
			}
			if p.Object["kind"] != "Pod" {
				return // Pod Security enforces on pods only; workloads get warnings
			}
			err := send(p, restricted)
			var checks []string // a twin fails none
			if p.Family != TwinFamily {
				_, checks = fams[p.Family].psa(p.Variant)
			}
			if want := len(checks) > 0; want != (err != nil) {
				t.Errorf("restricted namespace: refused=%v, declared psaChecks %v (err: %v)", err != nil, checks, err)
			}
		})
	}
}

type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningRecorder) HandleWarningHeader(code int, agent, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

// TestEmbeddedProbesPassLoadValidation: Default skips checkKnownKind at run time because
// this test holds it for every embedded probe, so a binary never carries one Load would
// refuse.
func TestEmbeddedProbesPassLoadValidation(t *testing.T) {
	for _, p := range defaultProbes(t) {
		if err := checkKnownKind(p); err != nil {
			t.Errorf("%v", err)
		}
	}
}

// TestTwins: every pod and container probe has a benign twin of the same request shape (kind,
// operation, subresource) that Pod Security "restricted" admits, shared by every probe of its
// variant; an object family's twin exists only where the family writes one.
func TestTwins(t *testing.T) {
	fams := defaultFamilies(t)
	shared := map[string]*Probe{}
	for _, p := range defaultProbes(t) {
		if fams[p.Family].Scope == ScopeObject {
			if p.Twin == nil {
				continue
			}
			tw := *p.Twin
			if !strings.HasSuffix(tw.Name, "~benign") || tw.Family != TwinFamily {
				t.Errorf("%s: object twin named %s, family %s", p.Name, tw.Name, tw.Family)
			}
			if tw.Object["kind"] != p.Object["kind"] || tw.Operation != p.Operation || tw.SubResource != p.SubResource {
				t.Errorf("%s: twin is a %v %s/%s, the probe a %v %s/%s", p.Name, tw.Object["kind"], tw.Operation, tw.SubResource, p.Object["kind"], p.Operation, p.SubResource)
			}
			typed, err := decodeStrict(tw.Object)
			if err != nil {
				t.Errorf("twin %s: %v", tw.Name, err)
				continue
			}
			if err := checkObject(typed, tw); err != nil {
				t.Errorf("twin %s: %v", tw.Name, err)
			}
			if err := checkKnownKind(tw); err != nil {
				t.Errorf("twin %s: %v", tw.Name, err)
			}
			continue
		}
		tw := p.Twin
		if tw == nil {
			t.Errorf("%s has no benign twin", p.Name)
			continue
		}
		if tw.Family != TwinFamily || p.Family == TwinFamily {
			t.Errorf("%s: twin family wrong for the probe or its twin %s", p.Name, tw.Name)
		}
		if tw.Object["kind"] != p.Object["kind"] || tw.Operation != p.Operation || tw.SubResource != p.SubResource {
			t.Errorf("%s: twin %s is a %v %s/%s, the probe a %v %s/%s", p.Name, tw.Name, tw.Object["kind"], tw.Operation, tw.SubResource, p.Object["kind"], p.Operation, p.SubResource)
		}
		if prev, ok := shared[tw.Name]; ok && prev != tw {
			t.Errorf("twin %s is not shared", tw.Name)
		}
		shared[tw.Name] = tw
		newPods, _ := podsOf(t, *tw)
		for _, pod := range newPods {
			if got := failingChecks(psaapi.LevelRestricted, pod.meta, pod.spec); len(got) != 0 {
				t.Errorf("twin %s: %s fails restricted %v", tw.Name, pod.what, got)
			}
		}
	}
	if len(shared) != 5 {
		t.Errorf("%d distinct twins of the embedded families, want one per variant (5)", len(shared))
	}
	if got := len(twinsOf(defaultProbes(t))); got < len(shared) {
		t.Errorf("Twins returned %d, want at least %d", got, len(shared))
	}
}

// TestEvasionMatrixListsEveryVariant keeps docs/probes.md in step with the families: every
// family has a row in the evasion matrix, and every alternative and object is named (in
// backticks) in a row of its family, so a new variant comes with the wrong policy it catches out.
func TestEvasionMatrixListsEveryVariant(t *testing.T) {
	doc, err := os.ReadFile("../docs/probes.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{} // family -> its table rows
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(line, "| ") {
			continue
		}
		for _, fam := range strings.Split(cells[1], ",") {
			rows[strings.TrimSpace(fam)] = append(rows[strings.TrimSpace(fam)], line)
		}
	}
	for name, f := range defaultFamilies(t) {
		if len(rows[name]) == 0 {
			t.Errorf("docs/probes.md: family %s has no row in the evasion matrix", name)
			continue
		}
		var variants []string
		for _, a := range f.Alternatives {
			variants = append(variants, a.Name)
		}
		for _, o := range f.Objects {
			variants = append(variants, o.Name)
		}
		for _, v := range variants {
			if !slices.ContainsFunc(rows[name], func(r string) bool { return strings.Contains(r, "`"+v+"`") }) {
				t.Errorf("docs/probes.md: %s/%s is not in the evasion matrix: say what it evades and what a correct policy checks", name, v)
			}
		}
	}
}

// twinsOf returns the distinct benign twins of ps, sorted by name.
func twinsOf(ps []Probe) []Probe {
	seen := map[string]bool{}
	var out []Probe
	for _, p := range ps {
		if p.Twin != nil && !seen[p.Twin.Name] {
			seen[p.Twin.Name] = true
			out = append(out, *p.Twin)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
