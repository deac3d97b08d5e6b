package remedies_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/policies"
	"github.com/threatcov/threatcov/probes"
	"github.com/threatcov/threatcov/remedies"
)

// testRegistry is the registry of the probes' base Pod: the one the allowed-registries remedy
// must admit.
const testRegistry = "registry.example/"

var testOptions = remedies.Options{AllowedRegistries: []string{testRegistry}}

// written renders every remedy for engine into a folder and loads it back: the policies as a
// user would deploy them, by remedy name.
func written(t *testing.T, engine remedies.Engine, mode remedies.Mode) (*policies.Evaluator, map[string]*policies.Policy) {
	t.Helper()
	all, err := remedies.All()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	o := testOptions
	o.Engine, o.Mode = engine, mode
	files := map[string]string{}
	for _, r := range all {
		data, err := r.Render(o)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, r.FileName(o))
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files[file] = r.Name
	}
	inv, err := policies.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*policies.Policy{}
	for _, p := range inv.Policies {
		name, ok := files[p.Source.File]
		switch {
		case !ok:
			t.Fatalf("policy %s from %s: not a remedy file", p.ID, p.Source.File)
		case !p.Verifiable:
			t.Fatalf("%s (%s) is not executable: %v", p.ID, name, p.Notes)
		case byName[name] != nil:
			t.Fatalf("remedy %s gave two policies: %s and %s", name, byName[name].ID, p.ID)
		}
		byName[name] = p
	}
	if len(byName) != len(all) {
		t.Fatalf("%d policies for %d remedies", len(byName), len(all))
	}
	ev, err := policies.NewEvaluator(inv)
	if err != nil {
		t.Fatal(err)
	}
	return ev, byName
}

func defaultProbes(t *testing.T) []probes.Probe {
	t.Helper()
	ps, err := probes.Default()
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestRemediesDenyTheirFamiliesAndAdmitTwins holds every remedy to its families: it denies
// every probe of them (every alternative, workload kind, init and ephemeral container) and
// admits each one's benign twin, as VAP and as Gatekeeper template, in deny mode.
func TestRemediesDenyTheirFamiliesAndAdmitTwins(t *testing.T) {
	ps := defaultProbes(t)
	all, err := remedies.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range []remedies.Engine{remedies.EngineVAP, remedies.EngineGatekeeper} {
		ev, byName := written(t, engine, remedies.ModeDeny)
		for _, r := range all {
			p := byName[r.Name]
			if p.Mode != policies.ModeEnforce {
				t.Errorf("%s %s: mode %s, want enforce", engine, r.Name, p.Mode)
			}
			n := 0
			for _, f := range r.Families {
				found := false
				for _, probe := range ps {
					if probe.Family != f {
						continue
					}
					found = true
					n++
					e := ev.Evaluate(t.Context(), p, probe, "default")
					if e.Verdict != policies.VerdictDenied {
						t.Errorf("%s %s: %s is %s, want denied (%s)", engine, r.Name, probe.Name, e.Verdict, e.Err)
					}
					if probe.Twin == nil {
						continue
					}
					if e := ev.Evaluate(t.Context(), p, *probe.Twin, "default"); e.Verdict == policies.VerdictDenied || e.Verdict == policies.VerdictError {
						t.Errorf("%s %s: the twin %s of %s is %s: %s%s", engine, r.Name, probe.Twin.Name, probe.Name, e.Verdict, strings.Join(e.Messages, "; "), e.Err)
					}
				}
				if !found {
					t.Errorf("%s: family %s has no probe", r.Name, f)
				}
			}
			if n < 2 {
				t.Errorf("%s: %d probes, the test proves little", r.Name, n)
			}
		}
	}
}

// TestGatekeeperAgreesWithVAP runs both renderings of every remedy on every default probe and
// twin, in deny and in warn mode: the verdicts must be the same, and no remedy may deny any
// benign twin (of its families or any other).
func TestGatekeeperAgreesWithVAP(t *testing.T) {
	ps := defaultProbes(t)
	all := append([]probes.Probe(nil), ps...)
	seen := map[string]bool{}
	for _, p := range ps {
		if p.Twin != nil && !seen[p.Twin.Name] {
			seen[p.Twin.Name] = true
			all = append(all, *p.Twin)
		}
	}
	isTwin := func(name string) bool { return seen[name] }
	for _, mode := range []remedies.Mode{remedies.ModeDeny, remedies.ModeWarn} {
		vapEv, vaps := written(t, remedies.EngineVAP, mode)
		gkEv, gks := written(t, remedies.EngineGatekeeper, mode)
		names := make([]string, 0, len(vaps))
		for n := range vaps {
			names = append(names, n)
		}
		sort.Strings(names)
		denied := 0
		for _, n := range names {
			if vaps[n].Mode != gks[n].Mode {
				t.Errorf("%s %s: VAP mode %s, Gatekeeper mode %s", mode, n, vaps[n].Mode, gks[n].Mode)
			}
			for _, probe := range all {
				v := vapEv.Evaluate(t.Context(), vaps[n], probe, "default")
				g := gkEv.Evaluate(t.Context(), gks[n], probe, "default")
				if v.Verdict != g.Verdict {
					t.Errorf("%s %s on %s: VAP %s (%s%s), Gatekeeper %s (%s%s)", mode, n, probe.Name, v.Verdict, strings.Join(v.Messages, "; "), v.Err, g.Verdict, strings.Join(g.Messages, "; "), g.Err)
				}
				if v.Verdict == policies.VerdictDenied {
					denied++
					if isTwin(probe.Name) {
						t.Errorf("%s %s denies the benign twin %s: %s", mode, n, probe.Name, strings.Join(v.Messages, "; "))
					}
				}
			}
		}
		if denied == 0 {
			t.Errorf("%s: nothing denied, the comparison proves nothing", mode)
		}
		t.Logf("%s: %d remedies x %d requests agree, %d denials", mode, len(names), len(all), denied)
	}
}

// TestRenderModes: each mode is written as the engine spells it.
func TestRenderModes(t *testing.T) {
	all, err := remedies.All()
	if err != nil {
		t.Fatal(err)
	}
	r := all[1]
	for _, c := range []struct {
		engine remedies.Engine
		mode   remedies.Mode
		want   string
	}{
		{remedies.EngineVAP, remedies.ModeDeny, "validationActions: [Deny]"},
		{remedies.EngineVAP, remedies.ModeWarn, "validationActions: [Warn]"},
		{remedies.EngineVAP, remedies.ModeDryRun, "validationActions: [Audit]"},
		{remedies.EngineGatekeeper, remedies.ModeDeny, "enforcementAction: deny"},
		{remedies.EngineGatekeeper, remedies.ModeWarn, "enforcementAction: warn"},
		{remedies.EngineGatekeeper, remedies.ModeDryRun, "enforcementAction: dryrun"},
	} {
		data, err := r.Render(remedies.Options{Engine: c.engine, Mode: c.mode})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), c.want) {
			t.Errorf("%s %s: no %q in\n%s", c.engine, c.mode, c.want, data)
		}
	}
	if _, err := r.Render(remedies.Options{Mode: "Deny"}); err == nil {
		t.Error("mode Deny (capitalised) accepted")
	}
}

// TestUpdatesJudgedWhenTheSpecChanges: a workload admitted before the policy can still be
// labelled, or have its finalizers removed (deleting it needs that), but an update that
// changes its spec is judged whole, in both engines.
func TestUpdatesJudgedWhenTheSpecChanges(t *testing.T) {
	ps := defaultProbes(t)
	var hostNet probes.Probe
	for _, p := range ps {
		if p.Name == "host-network/pod" {
			hostNet = p
		}
	}
	if hostNet.Object == nil {
		t.Fatal("no host-network/pod probe")
	}
	relabelled := probes.DeepCopy(hostNet.Object)
	relabelled["metadata"].(map[string]any)["labels"] = map[string]any{"team": "payments"}
	retagged := probes.DeepCopy(hostNet.Object)
	spec := retagged["spec"].(map[string]any)
	spec["hostNetwork"] = false
	spec["containers"].([]any)[0].(map[string]any)["image"] = "registry.example/platform/app:latest"
	for _, engine := range []remedies.Engine{remedies.EngineVAP, remedies.EngineGatekeeper} {
		ev, byName := written(t, engine, remedies.ModeDeny)
		for _, c := range []struct {
			remedy, name string
			object       map[string]any
			want         policies.Verdict
		}{
			{"host-namespaces", "a label added to a host-network Pod", relabelled, policies.VerdictAdmitted},
			{"image-digests", "a label added to a host-network Pod", relabelled, policies.VerdictAdmitted},
			{"image-digests", "a Pod's image changed to a tag", retagged, policies.VerdictDenied},
		} {
			probe := probes.Probe{Name: c.name, Operation: "UPDATE", Object: c.object, OldObject: probes.DeepCopy(hostNet.Object)}
			e := ev.Evaluate(t.Context(), byName[c.remedy], probe, "default")
			if e.Verdict != c.want && !(c.want == policies.VerdictAdmitted && e.Verdict == policies.VerdictNotApplicable) {
				t.Errorf("%s %s on %s: %s (%s%s), want %s", engine, c.remedy, c.name, e.Verdict, strings.Join(e.Messages, "; "), e.Err, c.want)
			}
		}
	}
}
