package policies

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/threatcov/threatcov/probes"
)

func newEvaluator(t *testing.T, inv *Inventory, opts ...Option) *Evaluator {
	t.Helper()
	ev, err := NewEvaluator(inv, opts...)
	if err != nil {
		t.Fatalf("NewEvaluator: %v", err)
	}
	return ev
}

func TestEvaluate(t *testing.T) {
	inv := loadFixtures(t)
	ev := newEvaluator(t, inv)
	if errs := ev.CompileErrors(); len(errs) > 0 {
		t.Fatalf("fixtures do not compile: %v", errs)
	}
	tests := []struct {
		name      string
		policy    string
		probe     probes.Probe
		namespace string
		verdict   Verdict
		via       string
		messages  []string // checked when set
	}{
		// Pipeline Rego v1 konstraint policy with data.lib libraries (v0 core, v1 pods).
		{"rego v1 with libs denies host PID pod", "rego:kubernetes.host_namespace", hostPIDPod, "", VerdictDenied, ViaObject,
			[]string{"Pod/host-pid shares the host PID namespace"}},
		{"rego v1 lib reads workload templates", "rego:kubernetes.host_namespace", hostPIDDeployment, "", VerdictDenied, ViaObject, nil},
		{"rego v1 admits benign pod", "rego:kubernetes.host_namespace", benignPod, "", VerdictAdmitted, "", nil},
		// Pipeline Rego v0 policy that checks spec.containers only.
		{"rego v0 denies privileged container", "rego:kubernetes.privileged", privilegedPod, "", VerdictDenied, ViaObject,
			[]string{"container app is privileged"}},
		{"containers-only policy admits privileged initContainer", "rego:kubernetes.privileged", privilegedInit, "", VerdictAdmitted, "", nil},
		{"pipeline judges the Deployment manifest alone", "rego:kubernetes.privileged", privilegedDeployment, "", VerdictAdmitted, "", nil},
		// conftest suffixed rules and warn-only policies.
		{"deny_ suffix rule denies", "rego:conftest.run_as_root", rootPod, "", VerdictDenied, ViaObject, []string{"container app runs as root"}},
		{"warn rules do not decide a package with deny rules", "rego:conftest.run_as_root", benignPod, "", VerdictAdmitted, "", nil},
		{"warn-only policy's verdict is its warning", "rego:conftest.latest_tag", untrustedImagePod, "", VerdictDenied, ViaObject,
			[]string{"container miner uses the latest tag"}},
		// Generated Gatekeeper template + constraint (admission), Pod-only match.
		{"constraint denies host PID pod", "gatekeeper:K8sHostNamespace/host-namespace", hostPIDPod, "default", VerdictDenied, ViaObject, nil},
		{"Pod-only constraint denies Deployment via expansion", "gatekeeper:K8sHostNamespace/host-namespace", hostPIDDeployment, "default", VerdictDenied, ViaPod,
			[]string{"Pod/host-pid-pod shares the host PID namespace"}},
		{"Pod-only constraint denies CronJob via expansion", "gatekeeper:K8sHostNamespace/host-namespace", hostPIDCronJob, "default", VerdictDenied, ViaPod, nil},
		{"excludedNamespaces glob", "gatekeeper:K8sHostNamespace/host-namespace", hostPIDPod, "kube-system", VerdictNotApplicable, "", nil},
		{"kinds exclude a Service", "gatekeeper:K8sHostNamespace/host-namespace", nodePortService, "default", VerdictNotApplicable, "", nil},
		{"constraint admits benign pod", "gatekeeper:K8sHostNamespace/host-namespace", benignPod, "default", VerdictAdmitted, "", nil},
		// gatekeeper-library style template with parameters, dryrun, namespaces glob.
		{"parameters: untrusted repo denied", "gatekeeper:K8sAllowedRepos/allowed-repos", untrustedImagePod, "payments", VerdictDenied, ViaObject,
			[]string{`container <miner> has an invalid image repo <evil.example.net/miner:latest>, allowed repos are ["registry.example.com/"]`}},
		{"parameters: allowed repo admitted", "gatekeeper:K8sAllowedRepos/allowed-repos", benignPod, "payments", VerdictAdmitted, "", nil},
		{"namespaces prefix glob matches", "gatekeeper:K8sAllowedRepos/allowed-repos", untrustedImagePod, "team-a", VerdictDenied, ViaObject, nil},
		{"namespaces excludes others", "gatekeeper:K8sAllowedRepos/allowed-repos", untrustedImagePod, "default", VerdictNotApplicable, "", nil},
		// code[] Rego v1 template, scoped enforcement, namespaceSelector from inventory labels.
		{"namespaceSelector matches labelled namespace", "gatekeeper:K8sPrivilegedContainer/privileged-payments", privilegedPod, "payments", VerdictDenied, ViaObject, nil},
		{"namespaceSelector skips unlabelled namespace", "gatekeeper:K8sPrivilegedContainer/privileged-payments", privilegedPod, "default", VerdictNotApplicable, "", nil},
		{"ephemeral container update is judged", "gatekeeper:K8sPrivilegedContainer/privileged-payments", privilegedEphemeral, "payments", VerdictDenied, ViaObject, nil},
		{"initContainers are judged", "gatekeeper:K8sPrivilegedContainer/privileged-payments", privilegedInit, "payments", VerdictDenied, ViaObject, nil},
		{"CEL template message", "gatekeeper:K8sPrivilegedContainer/privileged-payments", privilegedPod, "payments", VerdictDenied, ViaObject,
			[]string{"privileged container is not allowed: app"}},
		{"CEL template admits benign pod", "gatekeeper:K8sPrivilegedContainer/privileged-payments", benignPod, "payments", VerdictAdmitted, "", nil},
		{"CEL-only template executed", "gatekeeper:K8sRequiredProbes/required-probes", benignPod, "default", VerdictDenied, ViaObject,
			[]string{"containers must have a readiness probe"}},
		// ValidatingAdmissionPolicy with its binding.
		{"VAP denies privileged pod", "vap:deny-privileged/deny-privileged-all", privilegedPod, "default", VerdictDenied, ViaObject,
			[]string{"failed expression: object.spec.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || !c.securityContext.privileged)"}},
		{"VAP admits benign pod", "vap:deny-privileged/deny-privileged-all", benignPod, "default", VerdictAdmitted, "", nil},
		{"VAP on pods denies Deployment via expansion", "vap:deny-privileged/deny-privileged-all", privilegedDeployment, "default", VerdictDenied, ViaPod, nil},
		{"VAP on pods ignores a Service", "vap:deny-privileged/deny-privileged-all", nodePortService, "default", VerdictNotApplicable, "", nil},
		// Pod Security Admission.
		{"PSA restricted denies a default pod", "psa:payments/enforce", benignPod, "payments", VerdictDenied, ViaObject, nil},
		{"PSA restricted admits a hardened pod", "psa:payments/enforce", restrictedPod, "payments", VerdictAdmitted, "", nil},
		{"PSA baseline admits a default pod", "psa:legacy/enforce", benignPod, "legacy", VerdictAdmitted, "", nil},
		{"PSA baseline denies host PID", "psa:legacy/enforce", hostPIDPod, "legacy", VerdictDenied, ViaObject,
			[]string{`violates PodSecurity "baseline:latest": host namespaces (hostPID=true)`}},
		{"PSA baseline denies Deployment through its Pod", "psa:legacy/enforce", hostPIDDeployment, "legacy", VerdictDenied, ViaPod, nil},
		{"PSA baseline denies privileged ephemeral container", "psa:legacy/enforce", privilegedEphemeral, "legacy", VerdictDenied, ViaObject, nil},
		{"PSA privileged admits host PID", "psa:sandbox/enforce", hostPIDPod, "sandbox", VerdictAdmitted, "", nil},
		{"PSA level applies only in its namespace", "psa:legacy/enforce", hostPIDPod, "default", VerdictNotApplicable, "", nil},
		{"PSA ignores non-pod objects", "psa:legacy/enforce", nodePortService, "legacy", VerdictNotApplicable, "", nil},
		{"a probe naming its namespace is judged there", "psa:legacy/enforce", inLegacy, "default", VerdictDenied, ViaObject, nil},
		{"a probe naming its namespace meets that namespace's exclusions", "gatekeeper:K8sHostNamespace/host-namespace", inKubeSystem, "default", VerdictNotApplicable, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := inv.Policy(tt.policy)
			if p == nil {
				t.Fatalf("policy %s not in inventory", tt.policy)
			}
			got := ev.Evaluate(context.Background(), p, tt.probe, tt.namespace)
			if got.Verdict != tt.verdict || got.Via != tt.via || got.Err != "" {
				t.Fatalf("verdict %s via %q err %q, want %s via %q (messages %q)", got.Verdict, got.Via, got.Err, tt.verdict, tt.via, got.Messages)
			}
			if tt.messages != nil {
				if diff := cmp.Diff(tt.messages, got.Messages); diff != "" {
					t.Errorf("messages (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestEvaluateLeavesProbeUntouched(t *testing.T) {
	inv := loadFixtures(t)
	ev := newEvaluator(t, inv)
	before := probes.DeepCopy(hostPIDDeployment.Object)
	ev.Evaluate(context.Background(), inv.Policy("gatekeeper:K8sHostNamespace/host-namespace"), hostPIDDeployment, "payments")
	if diff := cmp.Diff(before, any(hostPIDDeployment.Object)); diff != "" {
		t.Errorf("probe mutated (-before +after):\n%s", diff)
	}
}

func TestDeclaredPoliciesAreNotExecuted(t *testing.T) {
	inv := loadFixtures(t)
	ev := newEvaluator(t, inv)
	for _, id := range []string{"kyverno:disallow-host-namespaces"} {
		got := ev.Evaluate(context.Background(), inv.Policy(id), hostPIDPod, "")
		if got.Verdict != VerdictError || !strings.Contains(got.Err, "declared only") {
			t.Errorf("%s: got %s %q, want an error saying it is declared only", id, got.Verdict, got.Err)
		}
	}
}

func TestEvaluateAllMatchesEvaluateInOrder(t *testing.T) {
	inv := loadFixtures(t)
	ev := newEvaluator(t, inv)
	ps := []probes.Probe{benignPod, hostPIDPod, hostPIDDeployment, privilegedInit, privilegedEphemeral, untrustedImagePod}
	jobs := fixtureJobs(inv, ps)
	got := ev.EvaluateAll(context.Background(), jobs)
	if len(got) != len(jobs) {
		t.Fatalf("got %d evaluations for %d jobs", len(got), len(jobs))
	}
	fresh := newEvaluator(t, inv)
	for i, j := range jobs {
		want := fresh.Evaluate(context.Background(), j.Policy, j.Probe, j.Namespace)
		if diff := cmp.Diff(want, got[i]); diff != "" {
			t.Fatalf("job %d (%s on %s in %s) (-sequential +parallel):\n%s", i, j.Policy.ID, j.Probe.Name, j.Namespace, diff)
		}
	}
}

func TestPrintOutput(t *testing.T) {
	inv, err := Load("testdata/print")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ev := newEvaluator(t, inv, WithPrintOutput(&out))
	got := ev.Evaluate(context.Background(), inv.Policy("rego:printer"), hostPIDPod, "")
	if got.Verdict != VerdictDenied {
		t.Fatalf("verdict %s %s", got.Verdict, got.Err)
	}
	if want := "testdata/print/printer.rego:4: checking host-pid\n"; out.String() != want {
		t.Errorf("print output %q, want %q", out.String(), want)
	}
	// Default: discarded, and evaluation still works.
	quiet := newEvaluator(t, inv)
	if got := quiet.Evaluate(context.Background(), inv.Policy("rego:printer"), hostPIDPod, ""); got.Verdict != VerdictDenied {
		t.Errorf("verdict %s %s", got.Verdict, got.Err)
	}
}

func TestHostilePoliciesAreContained(t *testing.T) {
	tests := []verdictCase{
		{"rego:hostile.loop", VerdictError, []string{"testdata/hostile/loop.rego:1", "exceeded the 300ms evaluation time limit"}},
		{"gatekeeper:K8sSpin/spin", VerdictError, []string{"testdata/hostile/spin.yaml:", "exceeded the 300ms evaluation time limit"}},
		{"rego:hostile.recursion", VerdictError, []string{"testdata/hostile/recursion.rego:", "rego_recursion_error"}},
		{"rego:hostile.network", VerdictError, []string{"testdata/hostile/network.rego:6: policy calls http.send, which threatcov's sandbox forbids (network access)"}},
		{"rego:hostile.dns", VerdictError, []string{"testdata/hostile/dns.rego:5: policy calls net.lookup_ip_addr"}},
		{"rego:hostile.env", VerdictError, []string{"testdata/hostile/env.rego:5: policy calls opa.runtime", "environment"}},
		{"rego:hostile.clock", VerdictError, []string{"testdata/hostile/clock.rego:5: policy calls time.now_ns", "non-deterministic"}},
		{"rego:hostile.conflict", VerdictError, []string{"testdata/hostile/conflict.rego:", "eval_conflict_error"}},
		{"rego:hostile.good", VerdictDenied, nil},
	}
	checkContained(t, "testdata/hostile", tests)
}

// verdictCase is a policy's expected verdict and what its error must say.
type verdictCase struct {
	policy  string
	verdict Verdict
	errHas  []string
}

// checkContained loads the policies under dir, evaluates each on hostPIDPod with a 300 ms
// limit, all in one run, and holds the evaluations to cases.
func checkContained(t *testing.T, dir string, cases []verdictCase) {
	t.Helper()
	inv, err := Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	ev := newEvaluator(t, inv, WithTimeout(300*time.Millisecond))
	var jobs []Job
	for _, p := range inv.Policies {
		jobs = append(jobs, Job{Policy: p, Probe: hostPIDPod, Namespace: "default"})
	}
	got := map[string]Evaluation{}
	for _, e := range ev.EvaluateAll(context.Background(), jobs) {
		got[e.Policy] = e
	}
	for _, tt := range cases {
		t.Run(tt.policy, func(t *testing.T) {
			e, ok := got[tt.policy]
			if !ok {
				t.Fatalf("no evaluation for %s (inventory: %v)", tt.policy, ids(inv))
			}
			if e.Verdict != tt.verdict {
				t.Fatalf("verdict %s (err %q), want %s", e.Verdict, e.Err, tt.verdict)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(e.Err, s) {
					t.Errorf("error %q does not contain %q", e.Err, s)
				}
			}
		})
	}
}

func ids(inv *Inventory) []string {
	var out []string
	for _, p := range inv.Policies {
		out = append(out, p.ID)
	}
	return out
}

// fixtureJobs are every executable policy of inv on every probe in the fixture namespaces.
func fixtureJobs(inv *Inventory, ps []probes.Probe) []Job {
	var jobs []Job
	for _, p := range inv.Policies {
		if !p.Verifiable {
			continue
		}
		for _, pr := range ps {
			for _, ns := range []string{"payments", "legacy", "default"} {
				jobs = append(jobs, Job{Policy: p, Probe: pr, Namespace: ns})
			}
		}
	}
	return jobs
}
