package policies

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/internal/testenv"
	"github.com/threatcov/threatcov/probes"
)

// kyvernoPoliciesEnv names a checkout of github.com/kyverno/policies (never committed here)
// whose .kyverno-test suites TestKyvernoLibrary runs; kyvernoSuitesEnv optionally lists the
// top-level folders to run (space-separated; default kyvernoSuitesDefault).
const (
	kyvernoPoliciesEnv   = "THREATCOV_KYVERNO_POLICIES"
	kyvernoSuitesEnv     = "THREATCOV_KYVERNO_SUITES"
	kyvernoSuitesDefault = "pod-security pod-security-vpol best-practices best-practices-vpol"
	kyvernoLibraryRemedy = "a checkout of github.com/kyverno/policies, to run its .kyverno-test suites through threatcov's Kyverno path"
)

// kyvernoLibraryKnown are the expected results where threatcov's verdict differs from the
// suite's, each with why (suite:policy/rule/kind/resource -> reason). A case here is not a
// bug in either: the suite simulates a request threatcov models otherwise.
var kyvernoLibraryKnown = map[string]string{
	"other/memory-requests-equal-limits:memory-requests-equal-limits/autogen-cronjob-memory-requests-equal-limits/CronJob/hello": "" +
		"the CronJob is batch/v1beta1, which autogen's CronJob rule does not match: the CLI gives no result (not applicable), " +
		"and `kyverno test` counts a resource no rule matches as the expected pass (its reason column says Excluded)",
}

// TestKyvernoLibrary runs each .kyverno-test suite's policies and resources through
// threatcov's Kyverno path (the inventory, the probes' requests, the CLI batch and the
// report read back) and compares every expected result of a validate rule with threatcov's
// verdict on that rule: fail is denied, pass admitted, skip not applicable, error error.
// Suites that need a values file, userinfo or context data (they simulate a cluster's state,
// which threatcov's requests do not carry) and mutate or generate results are counted apart.
// A disagreement fails the test unless kyvernoLibraryKnown explains it.
func TestKyvernoLibrary(t *testing.T) {
	root := testenv.OptIn(t, kyvernoPoliciesEnv, kyvernoLibraryRemedy)
	bin := kyvernoCLI(t)
	folders := strings.Fields(os.Getenv(kyvernoSuitesEnv))
	if len(folders) == 0 {
		folders = strings.Fields(kyvernoSuitesDefault)
	}
	var suites []string
	for _, f := range folders {
		err := filepath.WalkDir(filepath.Join(root, f), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() == "kyverno-test.yaml" && filepath.Base(filepath.Dir(path)) == ".kyverno-test" {
				suites = append(suites, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(suites)
	var c libraryCounts
	for _, s := range suites {
		rel, _ := filepath.Rel(root, filepath.Dir(filepath.Dir(s)))
		runKyvernoSuite(t, bin, rel, s, &c)
	}
	t.Logf("kyverno/policies (%s): %d suites; %d expected results compared, %d agree, %d differ (%d explained); "+
		"not compared: %d suites refused or failed, %d results of suites with values/userinfo/context, %d mutate/generate results, %d results naming no resource of the suite",
		strings.Join(folders, " "), len(suites), c.compared, c.agree, len(c.differ), c.explained, c.refused, c.needsValues, c.notValidate, c.missing)
	for _, d := range append(c.differ, c.notes...) {
		t.Log(d)
	}
	if len(c.differ) > c.explained {
		t.Errorf("%d disagreements are not explained in kyvernoLibraryKnown", len(c.differ)-c.explained)
	}
}

type libraryCounts struct {
	compared, agree, explained, refused, needsValues, notValidate, missing int
	differ, notes                                                          []string
}

func runKyvernoSuite(t *testing.T, bin, name, path string, c *libraryCounts) {
	test := readOne(t, path)
	dir := filepath.Dir(path)
	results := list(test, "results")
	if test["variables"] != nil || test["userinfo"] != nil || test["context"] != nil {
		c.needsValues += len(results)
		c.notes = append(c.notes, fmt.Sprintf("%s: not compared: the suite passes a values file, userinfo or context", name))
		return
	}
	var paths []string
	for _, p := range strs(test, "policies") {
		paths = append(paths, filepath.Join(dir, p))
	}
	inv, err := Load(paths...)
	if err != nil {
		c.refused++
		c.differ = append(c.differ, fmt.Sprintf("%s: threatcov cannot read the policies: %v", name, err))
		return
	}
	ev, err := NewEvaluator(inv, WithKyverno(bin))
	if err != nil {
		c.refused++
		c.differ = append(c.differ, fmt.Sprintf("%s: refused: %v", name, err))
		return
	}
	// Every resource of the suite is a probe; the suite's namespace, or default.
	byName := map[string][]probes.Probe{}
	var jobs []Job
	var resources []string
	for _, r := range strs(test, "resources") {
		resources = append(resources, filepath.Join(dir, r))
	}
	for _, rp := range resources {
		data, err := os.ReadFile(rp)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeYAML(rp, data)
		if err != nil {
			t.Fatalf("%s: %v", rp, err)
		}
		for _, o := range objs {
			if o.Object == nil {
				continue
			}
			kind, n := str(o.Object, "kind"), str(o.Object, "metadata", "name")
			probe := probes.Probe{Name: kind + "/" + n, Family: "library", Operation: "CREATE", Object: o.Object}
			byName[n] = append(byName[n], probe)
			ns := firstNonEmpty(str(o.Object, "metadata", "namespace"), DefaultNamespace)
			for _, p := range inv.Policies {
				if p.kyverno != nil {
					jobs = append(jobs, Job{Policy: p, Probe: probe, Namespace: ns})
				}
			}
		}
	}
	ev.EvaluateAll(context.Background(), jobs)
	for _, r := range results {
		if r.(map[string]any)["patchedResources"] != nil || r.(map[string]any)["generatedResource"] != nil ||
			r.(map[string]any)["isMutatingPolicy"] == true || r.(map[string]any)["isMUtatingPolicy"] == true || r.(map[string]any)["isGeneratingPolicy"] == true {
			c.notValidate += max(1, len(strs(r, "resources")))
			continue
		}
		names := strs(r, "resources")
		if n := str(r, "resource"); n != "" {
			names = append(names, n)
		}
		for _, n := range names {
			// A resource may be named namespace/name.
			short := n[strings.LastIndex(n, "/")+1:]
			var probe *probes.Probe
			for i, p := range byName[short] {
				if k := str(r, "kind"); k == "" || str(p.Object, "kind") == k {
					probe = &byName[short][i]
				}
			}
			pol := libraryPolicy(inv, str(r, "policy"), str(r, "rule"))
			if probe == nil || pol == nil {
				c.missing++
				c.notes = append(c.notes, fmt.Sprintf("%s: result for %s/%s on %s %s names no resource or policy of the suite (probe found: %v, policy found: %v)",
					name, str(r, "policy"), str(r, "rule"), str(r, "kind"), n, probe != nil, pol != nil))
				continue
			}
			got := libraryRuleVerdict(ev, pol, str(r, "rule"), *probe)
			want := map[string]Verdict{"fail": VerdictDenied, "warn": VerdictDenied, "pass": VerdictAdmitted, "skip": VerdictNotApplicable, "error": VerdictError}[str(r, "result")]
			c.compared++
			if got.verdict == want {
				c.agree++
				continue
			}
			key := fmt.Sprintf("%s:%s/%s/%s/%s", name, str(r, "policy"), str(r, "rule"), str(r, "kind"), n)
			why, known := kyvernoLibraryKnown[key]
			if known {
				c.explained++
			}
			c.differ = append(c.differ, fmt.Sprintf("%s: want %s (%s), got %s %v %s; known: %v %s", key, want, str(r, "result"), got.verdict, got.messages, got.err, known, why))
		}
	}
}

// libraryPolicy is the threatcov policy standing for a suite's policy and rule.
func libraryPolicy(inv *Inventory, policy, rule string) *Policy {
	for _, p := range inv.Policies {
		k := p.kyverno
		if k == nil || (k.key != policy && !strings.HasSuffix(k.key, "/"+policy)) {
			continue
		}
		if k.vp || rule == "" || k.ruleNames[rule] || k.ruleNames[baseRule(rule)] {
			return p
		}
	}
	return nil
}

// libraryRuleVerdict is threatcov's verdict of one rule on the probe's own request, as the
// CLI batch judged it.
func libraryRuleVerdict(ev *Evaluator, p *Policy, rule string, probe probes.Probe) result {
	ns := firstNonEmpty(str(probe.Object, "metadata", "namespace"), DefaultNamespace)
	out := ev.kyv.outcome(inputKey{baseKeyOf(probe), ns})
	if out == nil {
		return result{verdict: VerdictError, err: "no outcome"}
	}
	if out.err != "" || out.static != "" {
		return result{verdict: VerdictError, err: out.err + out.static}
	}
	one := *p
	k := *p.kyverno
	if !k.vp && rule != "" {
		k.ruleNames = map[string]bool{baseRule(rule): true, rule: true}
		var rs []reportResult
		for _, r := range out.object {
			if baseRule(r.Rule) == baseRule(rule) {
				rs = append(rs, r)
			}
		}
		one.kyverno = &k
		return kyvernoVerdict(&one, ns, nil, rs)
	}
	return kyvernoVerdict(&one, ns, nil, out.object)
}
