package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/internal/testcluster"
)

func TestClusterFlagsNeedACluster(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"probe-live alone", []string{"analyze", "--probe-live"}, "--probe-live and --probe-namespace need a cluster"},
		{"probe-namespace without probe-live", []string{"analyze", "--context", "x", "--probe-namespace", "a"}, "--probe-namespace is for --probe-live"},
		{"both namespace flags", []string{"analyze", "--context", "x", "--probe-live", "--probe-namespace", "a", "--namespace", "b"}, "--probe-namespace and --namespace both choose"},
		{"policies list without a source", []string{"policies", "list"}, "say where the policies are"},
		{"export without a cluster", []string{"policies", "export", "--dir", t.TempDir()}, "policies export needs a cluster"},
		{"missing kubeconfig", []string{"policies", "list", "--kubeconfig", filepath.Join(t.TempDir(), "absent")}, "kubeconfig: load kubeconfig "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != exitInput || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitInput, tt.want)
			}
		})
	}
}

// TestClusterCommands runs the commands against a real API server: list, export, analyse
// with live probes, and a user RBAC forbids.
func TestClusterCommands(t *testing.T) {
	c := testcluster.Start(t)
	ctx := t.Context()
	if err := c.CreateNamespace(ctx, "baseline", map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}); err != nil {
		t.Fatal(err)
	}
	noSecrets := func(t *testing.T, outputs ...string) {
		t.Helper()
		for _, o := range outputs {
			for _, user := range []string{testcluster.AdminUser, testcluster.LimitedUser} {
				if tok := c.UserConfig(user).BearerToken; tok != "" && strings.Contains(o, tok) {
					t.Errorf("output holds %s's token", user)
				}
			}
		}
	}

	code, out, stderr := runCLI(t, "policies", "list", "--kubeconfig", c.Kubeconfig, "-o", "json")
	if code != exitOK {
		t.Fatalf("policies list: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, `"psa:baseline/enforce"`) || !strings.Contains(out, "cluster:threatcov-test/core/Namespace/baseline") {
		t.Errorf("policies list lacks the namespace's PSA policy:\n%s", out)
	}
	for _, want := range []string{"cluster threatcov-test: listing namespaces...", "the cluster does not serve the API group kyverno.io; skipped"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	noSecrets(t, out, stderr)

	dir := t.TempDir()
	code, _, stderr = runCLI(t, "policies", "export", "--kubeconfig", c.Kubeconfig, "--dir", dir)
	if code != exitOK {
		t.Fatalf("policies export: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "core_namespace_baseline.yaml")); err != nil {
		t.Errorf("export: %v (stderr %s)", err, stderr)
	}
	code, fromFiles, stderr := runCLI(t, "policies", "list", "--policies", dir, "-o", "json")
	if code != exitOK || !strings.Contains(fromFiles, `"psa:baseline/enforce"`) {
		t.Errorf("policies list of the export: exit %d %s\n%s", code, stderr, fromFiles)
	}

	code, out, stderr = runCLI(t, "analyze", "--kubeconfig", c.Kubeconfig, "--probe-live", "--probe-namespace", "baseline", "-o", "json")
	if code != exitOK {
		t.Fatalf("analyze --probe-live: exit %d: %s", code, stderr)
	}
	noSecrets(t, out, stderr)
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "dry-run") {
			t.Log(line)
		}
	}
	const asCaller = "the Pods of workload probes are sent as the caller"
	if strings.Contains(stderr, asCaller) {
		t.Errorf("the administrator may impersonate the controllers, yet stderr says:\n%s", stderr)
	}
	var res struct {
		Inputs struct {
			Policies   []string `json:"policies"`
			Namespaces []string `json:"namespaces"`
		} `json:"inputs"`
		Steps []struct {
			Label    string   `json:"label"`
			Status   string   `json:"status"`
			Evidence string   `json:"evidence"`
			Blocking []string `json:"blocking"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Inputs.Policies, ",") != "cluster:threatcov-test" {
		t.Errorf("inputs.policies = %v", res.Inputs.Policies)
	}
	found := false
	for _, s := range res.Steps {
		if s.Label == "Find Pod/Container with HostPID" {
			found = true
			if s.Status != "blocked" || s.Evidence != "live" || strings.Join(s.Blocking, ",") != "live:psa" {
				t.Errorf("hostPID step: %+v, want blocked (live) by live:psa", s)
			}
		}
	}
	if !found {
		t.Error("no hostPID step in the report")
	}

	// A caller who may not impersonate the controllers is told once, on stderr.
	code, _, stderr = runCLI(t, "analyze", "--kubeconfig", c.LimitedKubeconfig, "--probe-live", "--probe-namespace", "baseline", "-o", "json")
	if code != exitOK {
		t.Fatalf("analyze --probe-live as the limited user: exit %d: %s", code, stderr)
	}
	if n := strings.Count(stderr, asCaller); n != 1 || !strings.Contains(stderr, "threatcov-impersonate-controllers") {
		t.Errorf("stderr says %d times that workloads' Pods were sent as the caller, want once naming the Role:\n%s", n, stderr)
	}

	code, out, stderr = runCLI(t, "policies", "list", "--kubeconfig", c.LimitedKubeconfig)
	if code != exitOK {
		t.Fatalf("policies list as the limited user: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, `listing namespaces is forbidden; skipped, so the inventory misses them: grant the RBAC rule {apiGroups: [""], resources: ["namespaces"], verbs: ["list"]}`) {
		t.Errorf("stderr lacks the forbidden note:\n%s", stderr)
	}
	noSecrets(t, out, stderr)
}
