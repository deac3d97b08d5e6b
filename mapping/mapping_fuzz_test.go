package mapping

import (
	"strings"
	"testing"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/hostiletest"
)

const fuzzMapping = `version: 1
steps:
  - nodes: [g, a]
    labels: [Goal]
    refs: [M9]
    points: [admission, pipeline]
    policies: [psa:baseline, gatekeeper:K8sPSPHostNamespace]
    probes: [host-pid]
  - nodes: [c]
    out-of-scope: network flood
  - labels: [C]
    attestable: runtime detection
attestations:
  - node: c
    control: falco
    evidence: https://example.invalid/falco
    expires: 2030-01-01
`

// FuzzParse feeds arbitrary bytes to the mapping loader (Parse, then Resolve against a small
// catalog, lax and strict). It must return a mapping or errors, never panic or hang, and every
// error line must name the file (and, for an entry, its line).
func FuzzParse(f *testing.F) {
	f.Add(defaultMapping)
	for _, s := range []string{
		fuzzMapping,
		"",
		"version: 1\nsteps: [~, {}]\nattestations: [~, {node: x}]\n",
		"version: 1\n<<: {steps: [{nodes: [g]}]}\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nversion: 1\nsteps: *b\n",
		"version: 1\nsteps:\n  - nodes: [g]\n    policies: [nope, psa:privileged, kyverno:]\n    probes: [host-pid, no-such-family]\n",
	} {
		f.Add([]byte(s))
	}
	tree, err := attacktrees.Parse([]byte(`id: t
title: T
nodes:
  - {id: g, kind: goal, gate: or, label: Goal, children: [a, s]}
  - {id: a, kind: step, label: A, ref: M9, children: [c]}
  - {id: c, kind: step, label: C}
  - {id: s, kind: subtree, label: S, target: t2}
  - {id: n, kind: note, label: N, annotates: [a]}
`), "fuzz/t.yaml")
	if err != nil {
		f.Fatal(err)
	}
	tree2, err := attacktrees.Parse([]byte("id: t2\ntitle: T2\nnodes: [{id: g2, kind: goal, gate: plain, label: Goal, children: [x]}, {id: x, kind: step, label: C}]\n"), "fuzz/t2.yaml")
	if err != nil {
		f.Fatal(err)
	}
	cat, err := attacktrees.Build([]*attacktrees.Tree{tree, tree2})
	if err != nil {
		f.Fatal(err)
	}
	families := []string{"host-pid", "privileged-container"}
	const name = "fuzz/mapping.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data, name)
		if err != nil {
			hostiletest.LinesName(t, err, name)
			return
		}
		for _, strict := range []bool{false, true} {
			m, err := Resolve(cat, families, strict, file)
			if err != nil {
				hostiletest.LinesName(t, err, name)
				continue
			}
			for _, w := range m.Warnings {
				if !strings.HasPrefix(w, name+":") {
					t.Fatalf("warning %q does not name %s", w, name)
				}
			}
			if strict && len(m.Warnings) > 0 {
				t.Fatalf("strict Resolve returned warnings instead of an error: %q", m.Warnings)
			}
			for _, s := range m.Steps() {
				if s.Node == nil || s.Node.Kind == attacktrees.KindNote || s.Node.Kind == attacktrees.KindSubtree {
					t.Fatalf("step %+v maps a note, subtree or nothing", s)
				}
			}
		}
	})
}
