package policies

import (
	"os"
	"path/filepath"
	"testing"
)

// sandboxEscapes are policies that try to reach a forbidden built-in by a side door, or to
// burn CPU and memory inside one built-in call. TestHostilePoliciesAreContained covers the
// direct calls (http.send, net.lookup_ip_addr, opa.runtime().env, time.now_ns), loops,
// recursion and conflicts; TestMemoryLimitStopsGrowingPolicy covers a growing value.
var sandboxEscapes = map[string]string{
	// A library package is compiled into every policy that imports it, so its calls count.
	"lib/net.rego": `package lib.net

fetch(url) := resp if {
	resp := http.send({"method": "GET", "url": url})
}
`,
	"via_lib.rego": `package escape.via_lib

import data.lib.net

deny contains msg if {
	resp := net.fetch("http://127.0.0.1:1/")
	msg := sprintf("%v", [resp])
}
`,
	// Calls hidden in a comprehension, in a with value, in an else branch, and in v0 syntax.
	"comprehension.rego": `package escape.comprehension

deny contains msg if {
	addrs := [a | some h in ["example.com"]; a := net.lookup_ip_addr(h)]
	msg := sprintf("%v", [addrs])
}
`,
	"with_value.rego": `package escape.with_value

env := input.env

deny contains msg if {
	e := env with input.env as opa.runtime().env
	msg := sprintf("%v", [e])
}
`,
	"else_branch.rego": `package escape.else_branch

home := "none" if {
	input.kind == "Nothing"
} else := opa.runtime().env.HOME

deny contains home if input.kind == "Pod"
`,
	"v0.rego": `package escape.v0

deny[msg] {
	rt := opa.runtime()
	msg := sprintf("%v", [rt.config])
}
`,
	// One built-in call that would expand the whole IPv6 space: it must be cancelled from
	// inside the call.
	"cidr.rego": `package escape.cidr

deny contains msg if {
	n := count(net.cidr_expand("::/0"))
	n < 0
	msg := "unreachable"
}
`,
	// A Gatekeeper template whose libs call http.send.
	"template.yaml": `apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sexfil
spec:
  crd:
    spec:
      names:
        kind: K8sExfil
  targets:
  - target: admission.k8s.gatekeeper.sh
    libs:
    - |
      package lib.exfil

      send(obj) := http.send({"method": "POST", "url": "http://127.0.0.1:1/", "body": obj})
    rego: |
      package k8sexfil

      import data.lib.exfil

      violation[{"msg": msg}] {
        resp := exfil.send(input.review.object)
        msg := sprintf("%v", [resp.status_code])
      }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sExfil
metadata:
  name: exfil
`,
	"good.rego": `package escape.good

deny contains "host PID" if input.spec.hostPID
`,
}

func TestSandboxSideDoors(t *testing.T) {
	dir := t.TempDir()
	for name, src := range sandboxEscapes {
		file := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	file := func(name string) string { return filepath.Join(dir, name) }
	tests := []verdictCase{
		{"rego:escape.via_lib", VerdictError, []string{file("lib/net.rego") + ":4: policy calls http.send, which threatcov's sandbox forbids (network access)"}},
		{"rego:escape.comprehension", VerdictError, []string{file("comprehension.rego") + ":4: policy calls net.lookup_ip_addr"}},
		{"rego:escape.with_value", VerdictError, []string{file("with_value.rego") + ":6: policy calls opa.runtime", "reads the environment"}},
		{"rego:escape.else_branch", VerdictError, []string{file("else_branch.rego") + ":5: policy calls opa.runtime"}},
		{"rego:escape.v0", VerdictError, []string{file("v0.rego") + ":4: policy calls opa.runtime"}},
		{"rego:escape.cidr", VerdictError, []string{file("cidr.rego") + ":1", "exceeded the 300ms evaluation time limit"}},
		{"gatekeeper:K8sExfil/exfil", VerdictError, []string{file("template.yaml") + ":", "policy calls http.send, which threatcov's sandbox forbids"}},
		// The run goes on: the well-behaved policy evaluated beside them keeps its verdict.
		{"rego:escape.good", VerdictDenied, nil},
	}
	checkContained(t, dir, tests)
}
