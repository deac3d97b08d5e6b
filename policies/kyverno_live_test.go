package policies

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/internal/testenv"
	"github.com/threatcov/threatcov/probes"
)

// kyvernoCLI returns the kyverno CLI the tests run, or ends the test with the remedy.
func kyvernoCLI(t testing.TB) string {
	t.Helper()
	bin, err := KyvernoBinary()
	if err != nil {
		testenv.Missing(t, "%v", err)
	}
	return bin
}

// TestKyvernoExecuted runs the real kyverno CLI on the fixtures of testdata/kyverno and checks
// every verdict: pattern, anyPattern, deny conditions, podSecurity (Audit), a precondition the
// attacker controls, autogen on the Pod controllers, an exclusion, a PolicyException, a rule
// on Pod that the ephemeralcontainers subresource escapes, a ValidatingPolicy, and a CONNECT
// request the CLI cannot express (judged statically).
func TestKyvernoExecuted(t *testing.T) {
	bin := kyvernoCLI(t)
	inv, err := Load("testdata/kyverno")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := NewEvaluator(inv, WithKyverno(bin))
	if err != nil {
		t.Fatal(err)
	}
	byName := defaultProbesByName(t)
	// Two requests for one Pod name: the CLI refuses them in one run, so they go to two.
	for name, hostPID := range map[string]bool{"same-name/host-pid": true, "same-name/plain": false} {
		pod := probes.DeepCopy(byName["host-pid/pod"].Object)
		pod["metadata"].(map[string]any)["name"] = "same"
		pod["spec"].(map[string]any)["hostPID"] = hostPID
		byName[name] = probes.Probe{Name: name, Family: "same-name", Operation: "CREATE", Object: pod}
	}
	tests := []struct {
		policy, probe, ns string
		want              Verdict
		via, msg          string
	}{
		{"kyverno:disallow-host-pid", "host-pid/pod", "apps", VerdictDenied, ViaObject, "host-pid"},
		{"kyverno:disallow-host-pid", "benign/pod", "apps", VerdictAdmitted, "", ""},
		{"kyverno:disallow-host-pid", "host-pid/deployment", "apps", VerdictDenied, ViaObject, "autogen-host-pid"},
		{"kyverno:disallow-host-pid", "host-pid/cronjob", "apps", VerdictDenied, ViaObject, "autogen-cronjob-host-pid"},
		{"kyverno:disallow-host-pid", "host-pid/pod", "legacy", VerdictNotApplicable, "", "PolicyException"},
		{"kyverno:disallow-host-pid", "host-pid/deployment", "legacy", VerdictNotApplicable, "", ""},
		{"kyverno:require-run-as-non-root", "run-as-root/pod", "apps", VerdictDenied, ViaObject, "run-as-non-root"},
		{"kyverno:require-run-as-non-root", "benign/pod", "apps", VerdictAdmitted, "", ""},
		{"kyverno:deny-privileged", "privileged-container/pod", "apps", VerdictDenied, ViaObject, "privileged"},
		{"kyverno:deny-privileged", "privileged-container/initcontainer", "apps", VerdictDenied, ViaObject, ""},
		{"kyverno:deny-privileged", "privileged-container/pod", "legacy", VerdictNotApplicable, "", ""},
		{"kyverno:deny-privileged", "privileged-container/ephemeralcontainer", "apps", VerdictNotApplicable, "", ""},
		{"kyverno:deny-privileged-ephemeral", "privileged-container/ephemeralcontainer", "apps", VerdictDenied, ViaObject, "privileged-ephemeral"},
		{"kyverno:deny-privileged-ephemeral", "benign/ephemeralcontainer", "apps", VerdictAdmitted, "", ""},
		{"kyverno:baseline-audit", "host-network/pod", "apps", VerdictDenied, ViaObject, ""},
		{"kyverno:frontend-no-host-path", "host-path-mount/pod", "apps", VerdictNotApplicable, "", "precondition"},
		{"kyverno:disallow-host-ipc", "host-ipc/pod", "apps", VerdictDenied, ViaObject, "IPC"},
		// Kyverno's autogen extends a Pod ValidatingPolicy to the controllers too.
		{"kyverno:disallow-host-ipc", "host-ipc/deployment", "apps", VerdictDenied, ViaObject, ""},
		{"kyverno:disallow-host-ipc", "benign/pod", "apps", VerdictAdmitted, "", ""},
		{"kyverno:disallow-host-pid", "pod-exec/exec", "apps", VerdictNotApplicable, "", ""},
		{"kyverno:disallow-host-pid", "same-name/host-pid", "apps", VerdictDenied, ViaObject, ""},
		{"kyverno:disallow-host-pid", "same-name/plain", "apps", VerdictAdmitted, "", ""},
	}
	var jobs []Job
	for _, tc := range tests {
		p := inv.Policy(tc.policy)
		probe, ok := byName[tc.probe]
		if p == nil || !ok {
			t.Fatalf("no policy %s or probe %s", tc.policy, tc.probe)
		}
		jobs = append(jobs, Job{Policy: p, Probe: probe, Namespace: tc.ns})
	}
	for i, got := range ev.EvaluateAll(context.Background(), jobs) {
		tc := tests[i]
		if got.Verdict != tc.want || got.Via != tc.via {
			t.Errorf("%s on %s in %s: %s via %q (%v %s), want %s via %q", tc.policy, tc.probe, tc.ns, got.Verdict, got.Via, got.Messages, got.Err, tc.want, tc.via)
			continue
		}
		if tc.msg != "" && !strings.Contains(strings.Join(got.Messages, "\n"), tc.msg) {
			t.Errorf("%s on %s in %s: messages %q lack %q", tc.policy, tc.probe, tc.ns, got.Messages, tc.msg)
		}
	}
	if p := inv.Policy("kyverno:baseline-audit"); p.Mode != ModeMonitor || !p.Verifiable {
		t.Errorf("baseline-audit: mode %s, verifiable %v; want monitor, verifiable", p.Mode, p.Verifiable)
	}
	// A single Evaluate outside EvaluateAll runs its own batch.
	if got := ev.Evaluate(context.Background(), inv.Policy("kyverno:disallow-host-pid"), byName["host-pid/pod"], "fresh"); got.Verdict != VerdictDenied {
		t.Errorf("Evaluate alone: %s (%s), want denied", got.Verdict, got.Err)
	}
}

// TestKyvernoRefusedPolicy: a policy the CLI refuses (a bad operator, CEL that does not
// compile) is an input error naming its file and line, before any verdict.
func TestKyvernoRefusedPolicy(t *testing.T) {
	bin := kyvernoCLI(t)
	good := `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: ok
spec:
  rules:
    - name: r
      match: {any: [{resources: {kinds: [Pod]}}]}
      validate: {failureAction: Enforce, pattern: {spec: {"=(hostPID)": "false"}}}
---
`
	for name, bad := range map[string]string{
		"bad-operator": `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: bad-operator
spec:
  rules:
    - name: r
      match: {any: [{resources: {kinds: [Pod]}}]}
      validate:
        failureAction: Enforce
        deny:
          conditions:
            any:
              - key: "{{ request.object.spec.hostPID }}"
                operator: Equalz
                value: true
`,
		"bad-cel": `apiVersion: policies.kyverno.io/v1
kind: ValidatingPolicy
metadata:
  name: bad-cel
spec:
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: [v1]
        operations: [CREATE]
        resources: [pods]
  validations:
    - expression: "object.spec.hostIPC ==="
`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policies.yaml")
			if err := os.WriteFile(path, []byte(good+bad), 0o600); err != nil {
				t.Fatal(err)
			}
			inv, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = NewEvaluator(inv, WithKyverno(bin))
			if err == nil || !errors.Is(err, ErrInput) {
				t.Fatalf("NewEvaluator: %v, want an input error", err)
			}
			if !strings.Contains(err.Error(), path+":11:") || !strings.Contains(err.Error(), name) {
				t.Fatalf("error %q does not name %s:11 and the policy", err, path)
			}
		})
	}
}

// defaultProbesByName is the default probes and their benign twins by name.
func defaultProbesByName(t *testing.T) map[string]probes.Probe {
	t.Helper()
	ps, err := probes.Default()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]probes.Probe{}
	for _, p := range ps {
		byName[p.Name] = p
		if p.Twin != nil {
			byName[p.Twin.Name] = *p.Twin
		}
	}
	return byName
}
