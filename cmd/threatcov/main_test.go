package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
)

var update = flag.Bool("update", false, "rewrite docs/cli.md")

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, streams{in: strings.NewReader(""), out: &out, err: &errb})
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cycle := write("cycle.yaml", "id: c\ntitle: C\nnodes:\n  - id: c-goal\n    kind: goal\n    gate: or\n    label: G\n    children: [c-a]\n  - id: c-a\n    kind: or\n    label: A\n    children: [c-b]\n  - id: c-b\n    kind: or\n    label: B\n    children: [c-a]\n")
	dup := write("dup.yaml", "id: d\ntitle: D\nnodes:\n  - id: d-goal\n    kind: goal\n    gate: or\n    label: G\n    children: [d-a]\n  - id: d-a\n    kind: step\n    label: A\n  - id: d-a\n    kind: step\n    label: A\n")
	dangling := write("dangling.yaml", "id: e\ntitle: E\nnodes:\n  - id: e-goal\n    kind: goal\n    gate: or\n    label: G\n    children: [e-missing]\n")
	ok := write("ok.yaml", "id: f\ntitle: F\nnodes:\n  - id: f-goal\n    kind: goal\n    gate: or\n    label: G\n    children: [f-a]\n  - id: f-a\n    kind: step\n    label: A\n")
	unknownTree := write("unknown-tree.yaml", "id: u\ntitle: U\nnodes:\n  - id: u-goal\n    kind: goal\n    gate: or\n    label: G\n    children: [u-box]\n  - id: u-box\n    kind: subtree\n    label: 'ATTACK TREE: Nowhere'\n    target: no-such-tree\n    children: [u-a]\n  - id: u-a\n    kind: step\n    label: A\n")
	unknownNode := write("unknown-node.yaml", "id: v\ntitle: V\nnodes:\n  - id: v-box\n    kind: subtree\n    label: 'ATTACK TREE: Nothing'\n    target: no-such-node\n")
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	typo := write("typo-mapping.yaml", "version: 1\nsteps:\n  - nodes: [mce-find-pod-with-hostpid]\n    policies: [gatekeeper:K8sPSPHostNamespce]\n    probes: [host-pid]\n")
	tests := []struct {
		name       string
		args       []string
		code       int
		wantStderr string
	}{
		{"valid file", []string{"trees", "validate", ok}, exitOK, ""},
		{"cycle", []string{"trees", "validate", cycle}, exitInput, cycle + `:9: node "c-a": cycle: c-a -> c-b -> c-a`},
		{"duplicate id", []string{"trees", "validate", dup}, exitInput, dup + `:12: node "d-a": duplicate node id (first defined at line 9)`},
		{"dangling child", []string{"trees", "validate", dangling}, exitInput, dangling + `:4: node "e-goal": child "e-missing" is not defined in this file`},
		{"subtree box naming an unknown tree", []string{"trees", "validate", unknownTree}, exitInput, unknownTree + `:9: node "u-box": subtree target "no-such-tree" is neither a tree id nor a node id in the catalog`},
		{"subtree box naming an unknown node", []string{"analyze", "--trees", unknownNode, "--policies", "../../examples/platform"}, exitInput, unknownNode + `:4: node "v-box": subtree target "no-such-node" is neither a tree id nor a node id in the catalog`},
		{"export of user trees", []string{"trees", "export", "--format", "openpsa", "--trees-mode", "replace", "--trees", ok}, exitOK, ""},
		{"unknown export format", []string{"trees", "export", "--format", "dot"}, exitInput, `unknown export format "dot": use openpsa`},
		{"unknown flag", []string{"trees", "list", "--nope"}, exitInput, "unknown flag: --nope"},
		{"unknown format", []string{"trees", "list", "-o", "xml"}, exitInput, `unknown output format "xml"`},
		{"unknown tree", []string{"trees", "show", "nope"}, exitInput, `no tree "nope"`},
		{"missing file", []string{"trees", "validate", filepath.Join(dir, "absent.yaml")}, exitInput, "cannot read trees"},
		{"empty policies folder", []string{"analyze", "--policies", empty}, exitInput, "no policies found in " + empty},
		{"undeployed policy in a user mapping warns", []string{"analyze", "--policies", "../../examples/platform", "--mapping", typo, "-o", "json"}, exitOK,
			"warning: " + typo + `:3: node "mce-find-pod-with-hostpid": policy "gatekeeper:K8sPSPHostNamespce" is not deployed in the policy set`},
		{"undeployed policy in a user mapping with --strict", []string{"analyze", "--strict", "--policies", "../../examples/platform", "--mapping", typo}, exitInput,
			"--strict: " + typo + `:3: node "mce-find-pod-with-hostpid": policy "gatekeeper:K8sPSPHostNamespce" is not deployed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code = %d, want %d (stderr: %s)", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.wantStderr)
			}
		})
	}
}

func TestTreesListCatalog(t *testing.T) {
	code, out, stderr := runCLI(t, "trees", "list")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, id := range []string{"malicious-code-execution", "denial-of-service", "establish-persistence", "access-sensitive-data", "scenario-compromised-container", "scenario-attacker-on-network"} {
		if !strings.Contains(out, id) {
			t.Errorf("trees list lacks %s:\n%s", id, out)
		}
	}
}

// TestCLIReference keeps docs/cli.md in step with the commands: it is generated from them.
func TestCLIReference(t *testing.T) {
	var b strings.Builder
	b.WriteString("# CLI reference\n\nGenerated from the commands by `go test ./cmd/threatcov -update`; do not edit.\n\n")
	b.WriteString("Exit codes: `0` success, `1` a gate failed (`check`), `2` usage or input error.\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			return
		}
		fmt.Fprintf(&b, "\n## %s\n\n", c.CommandPath())
		if c.Long != "" {
			b.WriteString(c.Long + "\n\n")
		} else {
			b.WriteString(c.Short + "\n\n")
		}
		b.WriteString("```\n" + strings.TrimSpace(c.UsageString()) + "\n```\n")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(streams{}))
	got := b.String()
	path := "../../docs/cli.md"
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/threatcov -update)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("docs/cli.md is stale (go test ./cmd/threatcov -update):\n%s", diff)
	}
}

// TestSecretsNeverPrinted: a kubeconfig's token and client key stay out of every output, also
// when the cluster cannot be reached or the key is broken.
func TestSecretsNeverPrinted(t *testing.T) {
	const token = "tok-3f9a1c0d-secret-bearer"
	const key = "S0VZLXNlY3JldC1wcml2YXRlLWtleQ=="
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kubeconfig")
	body := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: tok
  user: {token: %q}
- name: cert
  user: {client-certificate-data: %q, client-key-data: %q}
contexts:
- name: tok
  context: {cluster: c, user: tok}
- name: cert
  context: {cluster: c, user: cert}
current-context: tok
`, token, key, key)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ctx := range []string{"tok", "cert"} {
		for _, args := range [][]string{
			{"analyze", "--kubeconfig", cfg, "--context", ctx},
			{"policies", "list", "--kubeconfig", cfg, "--context", ctx},
		} {
			code, out, errOut := runCLI(t, args...)
			if code == exitOK {
				t.Errorf("%v: exit 0 against an unreachable cluster", args)
			}
			for _, secret := range []string{token, key} {
				if strings.Contains(out+errOut, secret) {
					t.Errorf("%v printed a secret:\n%s%s", args, out, errOut)
				}
			}
		}
	}
}

// TestCompletion: shells complete tree ids, node ids, output formats and gate rules.
func TestCompletion(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"__complete", "trees", "show", "mal"}, "malicious-code-execution\tMalicious code execution"},
		{[]string{"__complete", "render", "scenario-c"}, "scenario-compromised-container"},
		{[]string{"__complete", "explain", "mce-find-pod-with-h"}, "mce-find-pod-with-hostpid\t"},
		{[]string{"__complete", "analyze", "-o", ""}, "sarif"},
		{[]string{"__complete", "check", "--fail-on", ""}, "new-open-paths"},
		{[]string{"__complete", "check", "--report", ""}, "sarif="},
		{[]string{"__complete", "render", "--format", ""}, "dot"},
		{[]string{"__complete", "trees", "import", "--format", ""}, "adtool"},
	} {
		code, out, stderr := runCLI(t, tt.args...)
		if code != exitOK || !strings.Contains(out, tt.want) {
			t.Errorf("%v: exit %d, %q (stderr %q), want %q", tt.args, code, out, stderr, tt.want)
		}
	}
}
