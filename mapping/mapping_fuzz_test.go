package mapping

import (
	"errors"
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/attacktrees"
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
			checkLinesName(t, err, name)
			return
		}
		for _, strict := range []bool{false, true} {
			m, err := Resolve(cat, families, strict, file)
			if err != nil {
				checkLinesName(t, err, name)
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

// FuzzProbeFamily feeds arbitrary bytes to the probe family loader (parseFamily, then
// expansion into variants and the check against k8s.io/api types) and to the base Pod reader.
func FuzzProbeFamily(f *testing.F) {
	files, err := fs.Glob(defaultProbeFS, "probes/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := defaultProbeFS.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"apiVersion: v1\nkind: Pod\n",
		"apiVersion: v1\nkind: Pod\nspec: 3\n",
		"apiVersion: v1\nkind: Pod\nspec: {containers: [3]}\n",
		"name: x\ndescription: d\nscope: pod\nattack: {pod: {metadata: null, spec: {containers: [{name: a}]}}}\nalternatives: [{name: b, attack: {pod: {metadata: 7}}}]\n",
		"name: x\ndescription: d\nscope: container\nattack: {container: {ports: [{containerPort: 1}]}}\n---\nname: y\n",
		"name: x\ndescription: d\nscope: object\nobjects: [{name: a, object: {apiVersion: v1, kind: Service, spec: {ports: 3}}}]\n",
	} {
		f.Add([]byte(s))
	}
	base, err := readBase(defaultProbeFS, "probes/"+baseFileName, nil)
	if err != nil {
		f.Fatal(err)
	}
	const name = "fuzz/probe.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := readBase(nil, name, data); err != nil {
			checkLinesName(t, err, name)
		}
		fam, err := parseFamily(name, data, base)
		if err != nil {
			checkLinesName(t, err, name)
			return
		}
		probes, err := expandFamilies([]*probeFamily{fam}, true)
		if err != nil {
			checkLinesName(t, err, name)
			return
		}
		for _, p := range probes {
			if p.File != name || p.Object == nil || !strings.HasPrefix(p.Name, fam.Name+"/") {
				t.Fatalf("probe %s from %s has no object or a name outside its family %s", p.Name, p.File, fam.Name)
			}
		}
	})
}

// checkLinesName fails unless every line of err's message starts with file, so that a user
// with several mapping or probe files knows which one to open.
func checkLinesName(t *testing.T, err error, file string) {
	t.Helper()
	var pe *ProbeError
	if errors.As(err, &pe) && pe.File != file {
		t.Fatalf("ProbeError names %q, want %q: %v", pe.File, file, err)
	}
	msg := err.Error()
	if strings.TrimSpace(msg) == "" {
		t.Fatal("empty error")
	}
	for _, line := range strings.Split(msg, "\n") {
		if !strings.HasPrefix(line, file+":") {
			t.Fatalf("error line %q does not start with %s:\nwhole error:\n%s", line, path.Clean(file), msg)
		}
	}
}
