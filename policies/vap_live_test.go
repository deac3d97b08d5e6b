package policies_test

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/cluster"
	"github.com/threatcov/threatcov/internal/testcluster"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

const vapLiveDir = "testdata/vap-live"

// TestVAPOfflineEqualsAPIServer loads the ValidatingAdmissionPolicies of testdata/vap-live into
// a real kube-apiserver and into the evaluator, sends every default probe into every fixture
// namespace as a server-side dry-run, and requires the offline verdict (denied by an
// enforcing VAP binding, or not; warned by a Warn binding, or not) to equal the API server's
// (a denial, or a warning header). Probes that cannot be dry-run (CONNECT) are counted apart.
func TestVAPOfflineEqualsAPIServer(t *testing.T) {
	c := testcluster.Start(t)
	ctx := t.Context()

	fix := loadLiveFixture(t, c, vapLiveDir)
	inv, ps, namespaces := fix.inv, fix.probes, fix.namespaces

	ev, err := policies.NewEvaluator(inv)
	if err != nil {
		t.Fatal(err)
	}
	var enforcing, monitoring []*policies.Policy
	for _, p := range inv.Policies {
		if p.Engine != policies.EngineVAP {
			continue
		}
		if !p.Verifiable {
			t.Fatalf("%s is not verifiable: %v", p.ID, p.Notes)
		}
		if p.Mode == policies.ModeEnforce {
			enforcing = append(enforcing, p)
		} else {
			monitoring = append(monitoring, p)
		}
	}
	if len(monitoring) == 0 {
		t.Fatal("no monitoring binding among the fixtures")
	}
	judge := func(pols []*policies.Policy, probe probes.Probe, ns string) (bool, string) {
		var denied []string
		for _, p := range pols {
			e := ev.Evaluate(ctx, p, probe, ns)
			switch e.Verdict {
			case policies.VerdictDenied:
				denied = append(denied, fmt.Sprintf("%s: %s", p.ID, strings.Join(e.Messages, "; ")))
			case policies.VerdictError:
				t.Errorf("%s on %s in %s: error %s", p.ID, probe.Name, ns, e.Err)
			}
		}
		return len(denied) > 0, strings.Join(denied, " | ")
	}
	offline := func(probe probes.Probe, ns string) (bool, string) { return judge(enforcing, probe, ns) }
	warned := func(probe probes.Probe, ns string) (bool, string) { return judge(monitoring, probe, ns) }
	live := func(prober *cluster.LiveProber, probe probes.Probe, ns string) analyzer.LiveVerdict {
		return prober.DryRun(ctx, probe, ns)
	}

	// The API server loads policies, bindings and params through informers after the creates
	// return: wait until, in every namespace, the first probe the evaluator denies or warns
	// about there is denied or warned about live too (and the first it admits is admitted),
	// with a fresh prober per try.
	for _, ns := range namespaces {
		var sentinels []probes.Probe
		var wantDenied, wantAdmitted bool
		for _, p := range ps {
			if p.Operation == "CONNECT" || p.SubResource != "" {
				continue
			}
			d, _ := offline(p, ns)
			w, _ := warned(p, ns)
			flagged := d || w
			if flagged && !wantDenied || !flagged && !wantAdmitted {
				sentinels = append(sentinels, p)
				wantDenied, wantAdmitted = wantDenied || flagged, wantAdmitted || !flagged
			}
		}
		testcluster.AwaitPolicies(t, "the API server's policies in "+ns, func() bool {
			prober, err := cluster.NewLiveProber(c.Config)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range sentinels {
				d, _ := offline(p, ns)
				w, _ := warned(p, ns)
				v := live(prober, p, ns)
				liveWarned := strings.Contains(v.Message, "Validation failed for ValidatingAdmissionPolicy")
				if v.Err != "" || v.Denied != d || !d && liveWarned != w {
					return false
				}
			}
			return true
		})
	}

	prober, err := cluster.NewLiveProber(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	var agree, denied, skipped int
	perNS := map[string]int{}
	deniedLive := map[string]bool{} // probe@namespace
	for _, ns := range namespaces {
		for _, p := range ps {
			v := live(prober, p, ns)
			if strings.HasPrefix(v.Err, cluster.ErrNeedsPod) {
				skipped++
				continue
			}
			d, why := offline(p, ns)
			w, whyWarn := warned(p, ns)
			liveWarned := strings.Contains(v.Message, "Validation failed for ValidatingAdmissionPolicy")
			switch {
			case v.Err != "":
				t.Errorf("%s in %s: the API server answered with an error: %s (offline denied=%v %s)", p.Name, ns, v.Err, d, why)
			case v.Denied && v.By != "vap":
				t.Errorf("%s in %s: denied live by %s, not a VAP: %s", p.Name, ns, v.By, v.Message)
			case v.Denied != d:
				t.Errorf("%s in %s: offline denied=%v (%s), API server denied=%v (%s)", p.Name, ns, d, why, v.Denied, v.Message)
			case !v.Denied && liveWarned != w:
				t.Errorf("%s in %s: offline warned=%v (%s), API server warned=%v (%s)", p.Name, ns, w, whyWarn, liveWarned, v.Message)
			default:
				agree++
				deniedLive[p.Name+"@"+ns] = v.Denied
				if d || w {
					denied++
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
	t.Logf("%d probe x namespace verdicts agree with the API server (%d denied or warned: %s), %d not sendable (CONNECT), in %v",
		agree, denied, strings.Join(counts, " "), skipped, time.Since(begin).Round(time.Millisecond))
	// Every fixture namespace but the ones whose policy allows must see a denial, or the
	// fixtures stopped testing anything.
	for _, ns := range []string{"vap-hostpid", "vap-warn", "vap-privileged", "vap-hostports", "vap-prod", "vap-fail"} {
		if perNS[ns] == 0 {
			t.Errorf("no probe denied in %s: the fixture no longer exercises its policy", ns)
		}
	}
	for _, ns := range []string{"vap-privileged-lab", "vap-dev"} {
		if perNS[ns] != 0 {
			t.Errorf("%d probes denied in %s, where the policy allows everything", perNS[ns], ns)
		}
	}
	// A container without resources makes the memory-limit expression fail: failurePolicy
	// Fail denies it, Ignore admits it (a container whose limits lack memory is denied under
	// both: the expression is false, not an error).
	const noResources = "missing-resource-limits/pod"
	if !deniedLive[noResources+"@vap-fail"] || deniedLive[noResources+"@vap-ignore"] {
		t.Errorf("%s: denied in vap-fail=%v (want true), in vap-ignore=%v (want false)", noResources, deniedLive[noResources+"@vap-fail"], deniedLive[noResources+"@vap-ignore"])
	}
}

// deepCopyJSON copies a JSON-shaped object through YAML, so the test never shares a probe's
// maps with the cluster client.
func deepCopyJSON(t *testing.T, obj map[string]any) map[string]any {
	t.Helper()
	data, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := yaml.Unmarshal(bytes.TrimSpace(data), &out); err != nil {
		t.Fatal(err)
	}
	return out
}
