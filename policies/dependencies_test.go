package policies

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDependenciesMatchesScan holds dependencies to the definition: every package that is a
// dotted prefix of a reference or lies under one, transitively, found by scanning the pool.
func TestDependenciesMatchesScan(t *testing.T) {
	srcs := map[string]string{
		"a":          "package a\nx := data.lib.core.y\n",
		"a.b":        "package a.b\nx := 1\n",
		"a-b":        "package a_b\nx := 1\n",
		"lib.core":   "package lib.core\nimport data.util\ny := util.z\n",
		"lib.core.x": "package lib.core.x\nq := 1\n",
		"lib.corez":  "package lib.corez\nq := 1\n",
		"lib-core":   "package lib_core\nq := 1\n",
		"lib":        "package lib\nq := 1\n",
		"util":       "package util\nz := data.a.b.x\n",
		"p":          "package p\nimport data.lib\nviolation contains 1 if lib.core.y\n",
		"q":          "package q\nviolation contains 1 if data.nothing.here\n",
	}
	pool := map[string][]regoModule{}
	for name, src := range srcs {
		m, err := parseRego(name+".rego", src, 0)
		if err != nil {
			t.Fatal(err)
		}
		pkg := strings.Join(packagePath(m), ".")
		pool[pkg] = append(pool[pkg], regoModule{key: name, mod: m, pkg: pkg})
	}
	pkgs := make([]string, 0, len(pool))
	for p := range pool {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, own := range pkgs {
		if diff := cmp.Diff(scanDependencies(own, pool, pkgs), dependencies(own, pool, pkgs)); diff != "" {
			t.Errorf("dependencies(%s) (-scan +got):\n%s", own, diff)
		}
	}
	if got := fmt.Sprint(dependencies("p", pool, pkgs)); got != "[a a.b lib lib.core lib.core.x lib.corez util]" {
		// lib.corez is under lib, which p imports whole; lib_core is not.
		t.Errorf("dependencies(p) = %s", got)
	}
}

// scanDependencies is the definition, scanning every package for every reference.
func scanDependencies(own string, pool map[string][]regoModule, pkgs []string) []string {
	need := map[string]bool{own: true}
	queue := []string{own}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, rm := range pool[cur] {
			for _, ref := range dataRefs(rm.mod) {
				for _, p := range pkgs {
					if !need[p] && (prefixDotted(p, ref) || prefixDotted(ref, p)) {
						need[p] = true
						queue = append(queue, p)
					}
				}
			}
		}
	}
	delete(need, own)
	out := []string{}
	for p := range need {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func TestDynamicDataRef(t *testing.T) {
	for src, want := range map[string]bool{
		"package a\nimport data.lib\nx := lib.y\n":             false,
		"package a\nx := data.lib.y[input.k]\n":                false,
		"package a\nx := data[input.k]\n":                      true,
		"package a\nx := data\n":                               true,
		"package a\nimport data\nx := 1\n":                     true,
		"package a\nx := data.lib[data[input.k]]\n":            true,
		"package a\nx := count([k | some k, _ in data.lib])\n": false,
		"package a\nx := count([k | some k, _ in data])\n":     true,
		"package a.b\nviolation contains 1 if data.a.c == 2\n": false,
	} {
		m, err := parseRego("a.rego", src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := dynamicDataRef(m); got != want {
			t.Errorf("dynamicDataRef(%q) = %v, want %v", src, got, want)
		}
	}
}
