package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
)

// TestRunWritesLoadableSet checks the counts (run loads what it wrote), that every policy and
// family is named by the mapping, and that the output is deterministic.
func TestRunWritesLoadableSet(t *testing.T) {
	for _, tc := range []struct{ p, q int }{{1, 1}, {13, 17}, {30, 200}} {
		a, b := t.TempDir(), t.TempDir()
		for _, dir := range []string{a, b} {
			var stdout, stderr bytes.Buffer
			if code := run([]string{"-policies", strconv.Itoa(tc.p), "-probes", strconv.Itoa(tc.q), dir}, &stdout, &stderr); code != 0 {
				t.Fatalf("setgen -policies %d -probes %d: exit %d: %s", tc.p, tc.q, code, stderr.String())
			}
			if n, err := strconv.Atoi(strings.TrimSpace(stdout.String())); err != nil || n < tc.q || n < tc.p {
				t.Errorf("P=%d Q=%d: printed %q, want the evaluation count", tc.p, tc.q, stdout.String())
			}
		}
		if got, want := tree(t, a), tree(t, b); got != want {
			t.Errorf("P=%d Q=%d: two runs differ", tc.p, tc.q)
		}
		mf, err := mapping.ReadFile(filepath.Join(a, "mapping.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		named := map[string]bool{}
		for _, s := range mf.Steps {
			for _, p := range s.Policies {
				named[p] = true
			}
			for _, f := range s.Probes {
				named[f] = true
			}
		}
		inv, err := policies.Load(filepath.Join(a, "policies"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range inv.Policies {
			if !named[p.ID] {
				t.Errorf("P=%d Q=%d: policy %s is not mapped", tc.p, tc.q, p.ID)
			}
		}
		ps, err := probes.Load(filepath.Join(a, "probes"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if !named[p.Family] {
				t.Errorf("P=%d Q=%d: family %s is not mapped", tc.p, tc.q, p.Family)
			}
		}
	}
}

func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b.WriteString(rel + "\n" + string(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestRunWritesGatekeeperSet checks the Gatekeeper set: every constraint loads as a verifiable
// policy, is named by the mapping, compiles and evaluates without error, some deny; and the
// output is deterministic.
func TestRunWritesGatekeeperSet(t *testing.T) {
	for _, tc := range []struct{ p, q int }{{1, 1}, {13, 17}, {30, 60}} {
		a, b := t.TempDir(), t.TempDir()
		var printed []string
		for _, dir := range []string{a, b} {
			var stdout, stderr bytes.Buffer
			if code := run([]string{"-kind", "gatekeeper", "-policies", strconv.Itoa(tc.p), "-probes", strconv.Itoa(tc.q), dir}, &stdout, &stderr); code != 0 {
				t.Fatalf("setgen -kind gatekeeper -policies %d -probes %d: exit %d: %s", tc.p, tc.q, code, stderr.String())
			}
			printed = strings.Fields(stdout.String())
		}
		if got, want := tree(t, a), tree(t, b); got != want {
			t.Errorf("T=%d Q=%d: two runs differ", tc.p, tc.q)
		}
		if len(printed) != 2 {
			t.Fatalf("T=%d Q=%d: printed %q, want evaluations and constraints", tc.p, tc.q, printed)
		}
		nCons, err := strconv.Atoi(printed[1])
		if err != nil || nCons < tc.p {
			t.Errorf("T=%d Q=%d: printed %q constraints", tc.p, tc.q, printed[1])
		}
		mf, err := mapping.ReadFile(filepath.Join(a, "mapping.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		inv, err := policies.Load(filepath.Join(a, "policies"))
		if err != nil {
			t.Fatal(err)
		}
		if len(inv.Policies) != nCons {
			t.Errorf("T=%d Q=%d: %d policies, printed %d constraints", tc.p, tc.q, len(inv.Policies), nCons)
		}
		named := map[string]bool{}
		for _, s := range mf.Steps {
			for _, ref := range s.Policies {
				rs := inv.Resolve(ref)
				if len(rs) == 0 {
					t.Errorf("T=%d Q=%d: mapping names %s, which resolves to nothing", tc.p, tc.q, ref)
				}
				for _, p := range rs {
					named[p.ID] = true
				}
			}
		}
		for _, p := range inv.Policies {
			if !named[p.ID] {
				t.Errorf("T=%d Q=%d: constraint %s is not mapped", tc.p, tc.q, p.ID)
			}
			if p.Engine != policies.EngineGatekeeper || p.Point != probes.PointAdmission || !p.Verifiable {
				t.Errorf("T=%d Q=%d: %s: engine %s, point %s, verifiable %v", tc.p, tc.q, p.ID, p.Engine, p.Point, p.Verifiable)
			}
		}
		ev, err := policies.NewEvaluator(inv)
		if err != nil {
			t.Fatal(err)
		}
		if errs := ev.CompileErrors(); len(errs) > 0 {
			t.Errorf("T=%d Q=%d: compile errors: %v", tc.p, tc.q, errs)
		}
		ps, err := probes.Load(filepath.Join(a, "probes"))
		if err != nil {
			t.Fatal(err)
		}
		var jobs []policies.Job
		for _, p := range inv.Policies {
			for _, pr := range ps {
				jobs = append(jobs, policies.Job{Policy: p, Probe: pr, Namespace: "apps"})
			}
		}
		verdicts := map[policies.Verdict]int{}
		for _, e := range ev.EvaluateAll(t.Context(), jobs) {
			verdicts[e.Verdict]++
			if e.Verdict == policies.VerdictError {
				t.Errorf("T=%d Q=%d: %s on %s: %s", tc.p, tc.q, e.Policy, e.Probe, e.Err)
			}
		}
		if tc.p > 1 && verdicts[policies.VerdictDenied] == 0 {
			t.Errorf("T=%d Q=%d: no probe denied: %v", tc.p, tc.q, verdicts)
		}
	}
}
