package policies_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/cluster"
	"github.com/threatcov/threatcov/internal/testcluster"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

const builtinDir = "testdata/builtin-admission"

// TestBuiltinAdmissionOfflineEqualsAPIServer shows on a real kube-apiserver that requests
// reach validation as the evaluator builds them (docs/semantics.md, "The requests, as the API server sends them"): the Pod of a
// workload comes from its controller's service account (--probe-live impersonates it), the
// ServiceAccount admission plugin has injected the token volume, and LimitRanger has filled in
// resource defaults. Every default probe is sent into every fixture namespace; the offline
// verdict, and for workloads the request that decided it (the workload or its Pod), must equal
// the API server's.
func TestBuiltinAdmissionOfflineEqualsAPIServer(t *testing.T) {
	c := testcluster.Start(t)
	ctx := t.Context()

	fix := loadLiveFixture(t, c, builtinDir)
	inv, ps, namespaces := fix.inv, fix.probes, fix.namespaces
	byName := map[string]probes.Probe{}
	for _, p := range ps {
		byName[p.Name] = p
	}

	ev, err := policies.NewEvaluator(inv)
	if err != nil {
		t.Fatal(err)
	}
	var vaps []*policies.Policy
	for _, p := range inv.Policies {
		if p.Engine != policies.EngineVAP {
			continue
		}
		if !p.Verifiable || p.Mode != policies.ModeEnforce {
			t.Fatalf("%s: verifiable=%v mode=%s %v", p.ID, p.Verifiable, p.Mode, p.Notes)
		}
		vaps = append(vaps, p)
	}
	// offline is the evaluator's verdict: denied or not, by which request (ViaObject, ViaPod),
	// and the messages.
	type verdict struct {
		denied bool
		via    string
		msg    string
	}
	offline := func(probe probes.Probe, ns string) verdict {
		for _, p := range vaps {
			e := ev.Evaluate(ctx, p, probe, ns)
			switch e.Verdict {
			case policies.VerdictDenied:
				return verdict{true, e.Via, strings.Join(e.Messages, "; ")}
			case policies.VerdictError:
				t.Errorf("%s on %s in %s: error %s", p.ID, probe.Name, ns, e.Err)
			}
		}
		return verdict{}
	}
	// liveVia is the request the API server denied: a workload's message says when its Pod was.
	liveVia := func(probe probes.Probe, v analyzer.LiveVerdict) string {
		if !v.Denied {
			return ""
		}
		if probes.ExpandPod(probe.Object) != nil && strings.Contains(v.Message, " would create is denied: ") {
			return policies.ViaPod
		}
		return policies.ViaObject
	}

	// The API server loads policies and bindings through informers after the creates return:
	// wait until each namespace's sentinel is denied live, with a fresh prober per try.
	sentinels := map[string]string{
		"id-hostpid": "host-pid/pod", "id-groups": "host-pid/pod", "id-whoami": "host-pid/pod",
		"id-token": "service-account-token-automount/default-automount", "id-nolimits": "missing-resource-limits/pod",
	}
	deadline := time.Now().Add(60 * time.Second)
	for ns, name := range sentinels {
		for {
			prober, err := cluster.NewLiveProber(c.Config)
			if err != nil {
				t.Fatal(err)
			}
			if v := prober.DryRun(ctx, byName[name], ns); v.Denied {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("the API server's policy in %s did not deny %s within 60s: %+v", ns, name, v)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}

	prober, err := cluster.NewLiveProber(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	type key struct{ probe, ns string }
	live := map[key]analyzer.LiveVerdict{}
	var agree, skipped int
	perNS := map[string]int{}
	for _, ns := range namespaces {
		for _, p := range ps {
			v := prober.DryRun(ctx, p, ns)
			live[key{p.Name, ns}] = v
			if strings.HasPrefix(v.Err, cluster.ErrNeedsPod) {
				skipped++
				continue
			}
			o := offline(p, ns)
			switch {
			case v.Err != "":
				t.Errorf("%s in %s: the API server answered with an error: %s (offline %+v)", p.Name, ns, v.Err, o)
			case v.Denied && v.By != "vap":
				t.Errorf("%s in %s: denied live by %s, not a VAP: %s", p.Name, ns, v.By, v.Message)
			case v.Denied != o.denied || liveVia(p, v) != o.via:
				t.Errorf("%s in %s: offline denied=%v via %q (%s), API server denied=%v via %q (%s)", p.Name, ns, o.denied, o.via, o.msg, v.Denied, liveVia(p, v), v.Message)
			default:
				agree++
				if v.Denied {
					perNS[ns]++
				}
			}
		}
	}
	var counts []string
	for _, ns := range namespaces {
		counts = append(counts, fmt.Sprintf("%s=%d", ns, perNS[ns]))
	}
	sort.Strings(counts)
	t.Logf("%d probe x namespace verdicts (and deciding requests) agree with the API server (denied: %s), %d not sendable (CONNECT), in %v",
		agree, strings.Join(counts, " "), skipped, time.Since(begin).Round(time.Millisecond))

	// The cases the fixtures exist for, named, so a change that made both sides wrong the
	// same way is still caught.
	for _, tc := range []struct {
		probe, ns string
		denied    bool
		why       string
	}{
		// Controller identity: the attacker's own Pod is denied, the Deployment's Pod comes
		// from the replicaset-controller, which the policy exempts: the variant is a bypass.
		{"host-pid/pod", "id-hostpid", true, "the attacker's Pod is not exempt"},
		{"host-pid/deployment", "id-hostpid", false, "the replicaset-controller's Pod is exempt by username"},
		{"host-pid/cronjob", "id-hostpid", false, "the job-controller's Pod is exempt by username"},
		{"host-pid/pod", "id-groups", true, "the attacker is not in system:serviceaccounts:kube-system"},
		{"host-pid/deployment", "id-groups", false, "the replicaset-controller is in system:serviceaccounts:kube-system"},
		// Token injection: ServiceAccount admission adds the kube-api-access volume unless the
		// Pod turns automounting off, as the base Pod does.
		{"service-account-token-automount/default-automount", "id-token", true, "the API server injected the token volume"},
		{"service-account-token-automount/pod", "id-token", true, "automountServiceAccountToken: true"},
		{"host-pid/pod", "id-token", false, "the base Pod turns automounting off"},
		// LimitRanger: the namespace's defaults give the container its memory request.
		{"missing-resource-limits/pod", "id-limits", false, "LimitRanger filled in the memory request"},
		{"missing-resource-limits/pod", "id-nolimits", true, "no LimitRange: no memory request"},
	} {
		p, ok := byName[tc.probe]
		if !ok {
			t.Fatalf("no default probe %s", tc.probe)
		}
		if o := offline(p, tc.ns); o.denied != tc.denied {
			t.Errorf("%s in %s: offline denied=%v, want %v (%s): %s", tc.probe, tc.ns, o.denied, tc.denied, tc.why, o.msg)
		}
		if v := live[key{tc.probe, tc.ns}]; v.Denied != tc.denied || v.Err != "" {
			t.Errorf("%s in %s: live %+v, want denied=%v (%s)", tc.probe, tc.ns, v, tc.denied, tc.why)
		}
	}
	// The benign twin (the base Pod, automounting off) is admitted on both sides.
	if p := byName["service-account-token-automount/default-automount"]; p.Twin == nil {
		t.Errorf("%s has no benign twin", p.Name)
	} else if o, v := offline(*p.Twin, "id-token"), prober.DryRun(ctx, *p.Twin, "id-token"); o.denied || v.Denied || v.Err != "" {
		t.Errorf("twin %s in id-token: offline %+v, live %+v, want admitted", p.Twin.Name, o, v)
	}

	// The requester, named by the denial in id-whoami, is the same offline and live: the
	// controller's service account and the groups the API server gives it.
	for name, controller := range map[string]string{"host-pid/deployment": "replicaset-controller", "host-pid/cronjob": "job-controller"} {
		o, v := offline(byName[name], "id-whoami"), live[key{name, "id-whoami"}]
		want := "sent by system:serviceaccount:kube-system:" + controller + " in groups system:serviceaccounts,system:serviceaccounts:kube-system,system:authenticated"
		if !strings.Contains(o.msg, want) || !strings.Contains(v.Message, want) {
			t.Errorf("%s in id-whoami: want %q offline and live;\noffline: %s\nlive:    %s", name, want, o.msg, v.Message)
		}
	}

	// Without the right to impersonate, the prober sends the Pod as the caller, says so once
	// and in the verdict: the exemption then does not apply, so the caller's denial proves
	// nothing and is no live block (an error), never a false green.
	if err := grantLiveProber(t, c, "id-hostpid"); err != nil {
		t.Fatal(err)
	}
	limited := c.UserConfig(testcluster.LimitedUser)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		fallback, err := cluster.NewLiveProber(limited)
		if err != nil {
			t.Fatal(err)
		}
		v := fallback.DryRun(ctx, byName["host-pid/deployment"], "id-hostpid")
		if strings.Contains(v.Err, "proves nothing") {
			want := "sent as the caller, not as system:serviceaccount:kube-system:replicaset-controller"
			if v.Denied || !strings.Contains(v.Err, want) {
				t.Errorf("without impersonation: %+v, want not denied, an error with %q", v, want)
			}
			if notes := fallback.Notes(); len(notes) != 1 || !strings.Contains(notes[0], "cannot impersonate") {
				t.Errorf("without impersonation, notes %q, want one naming the refusal", notes)
			}
			fallback.DryRun(ctx, byName["host-pid/cronjob"], "id-hostpid")
			if n := len(fallback.Notes()); n != 1 {
				t.Errorf("%d notes after a second workload, want the refusal said once", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the limited user's Role did not apply within 30s: %+v", v)
		}
	}
}

// grantLiveProber gives the limited user what --probe-live needs in namespace, and nothing to
// impersonate with.
func grantLiveProber(t *testing.T, c *testcluster.Cluster, namespace string) error {
	t.Helper()
	role := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
		"metadata": map[string]any{"name": "prober", "namespace": namespace},
		"rules": []any{
			map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"create"}},
			map[string]any{"apiGroups": []any{"apps"}, "resources": []any{"deployments"}, "verbs": []any{"create"}},
			map[string]any{"apiGroups": []any{"batch"}, "resources": []any{"cronjobs"}, "verbs": []any{"create"}},
		},
	}}
	binding := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
		"metadata": map[string]any{"name": "prober", "namespace": namespace},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "prober"},
		"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": testcluster.LimitedUser}},
	}}
	_, err := c.Apply(t.Context(), role, binding)
	return err
}
