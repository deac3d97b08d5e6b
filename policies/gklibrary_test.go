package policies

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/internal/testenv"
	"github.com/threatcov/threatcov/policies/vap"
	"github.com/threatcov/threatcov/probes"
)

// gatekeeperLibraryEnv names a checkout of github.com/open-policy-agent/gatekeeper-library
// (never committed here) whose CEL templates TestGatekeeperLibraryCEL runs.
const gatekeeperLibraryEnv = "THREATCOV_GATEKEEPER_LIBRARY"

// gklibraryKnown are the gatekeeper-library cases where threatcov's verdict differs from
// gator's, each with why (suite/test/case -> reason).
var gklibraryKnown = map[string]string{}

// TestGatekeeperLibraryCEL runs every gatekeeper-library template that has K8sNativeValidation
// code on its suite's samples, as `gator verify` does with its CEL driver, and requires the
// suite's assertions to hold: violations yes/no/N, and message regular expressions.
func TestGatekeeperLibraryCEL(t *testing.T) { runGatekeeperLibrary(t, "CEL", hasCELCode) }

// TestGatekeeperLibraryRego does the same for the templates that have Rego only, with each
// case's inventory objects synced into data.inventory as gator does.
func TestGatekeeperLibraryRego(t *testing.T) {
	runGatekeeperLibrary(t, "Rego", func(tmpl map[string]any) bool { return !hasCELCode(tmpl) })
}

func runGatekeeperLibrary(t *testing.T, engine string, selected func(tmpl map[string]any) bool) {
	root := testenv.OptIn(t, gatekeeperLibraryEnv, "a checkout of github.com/open-policy-agent/gatekeeper-library "+
		"(git clone --depth 1 https://github.com/open-policy-agent/gatekeeper-library), to run its templates against their samples")
	var suites []string
	err := filepath.WalkDir(filepath.Join(root, "library"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "suite.yaml" {
			suites = append(suites, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(suites)
	var cases, agree, templates int
	var differ []string
	for _, suitePath := range suites {
		suite := readOne(t, suitePath)
		dir := filepath.Dir(suitePath)
		for _, st := range list(suite, "tests") {
			tmplObj := readOne(t, filepath.Join(dir, str(st, "template")))
			if !selected(tmplObj) {
				continue
			}
			conObj := readOne(t, filepath.Join(dir, str(st, "constraint")))
			inv, err := FromObjects([]Object{
				{Object: tmplObj, Source: Location{File: str(st, "template")}},
				{Object: conObj, Source: Location{File: str(st, "constraint")}},
			})
			if err != nil {
				t.Errorf("%s: %v", suitePath, err)
				continue
			}
			templates++
			id := fmt.Sprintf("gatekeeper:%s/%s", str(conObj, "kind"), str(conObj, "metadata", "name"))
			p := inv.Policy(id)
			if p == nil || !p.Verifiable || (p.exec.cel != nil) != (engine == "CEL") {
				t.Errorf("%s: %s is not executed as %s", suitePath, id, engine)
				continue
			}
			for _, c := range list(st, "cases") {
				var synced []map[string]any
				for _, f := range list(c, "inventory") {
					synced = append(synced, readOne(t, filepath.Join(dir, str(f))))
				}
				ev, err := NewEvaluator(inv, WithReferentialData(synced))
				if err != nil {
					t.Fatal(err)
				}
				key := fmt.Sprintf("%s/%s/%s", str(suite, "metadata", "name"), str(st, "name"), str(c, "name"))
				cases++
				probe := caseProbe(t, filepath.Join(dir, str(c, "object")))
				e := ev.Evaluate(context.Background(), p, probe, "")
				msgs := e.Messages
				if e.Verdict != VerdictDenied {
					msgs = nil
				}
				why := checkAssertions(list(c, "assertions"), msgs)
				if e.Verdict == VerdictError {
					why = "error: " + e.Err
				}
				known, isKnown := gklibraryKnown[key]
				switch {
				case why == "" && isKnown:
					t.Errorf("%s: agrees now, remove it from gklibraryKnown (%s)", key, known)
				case why == "":
					agree++
				case isKnown:
					differ = append(differ, fmt.Sprintf("%s: %s (known: %s)", key, why, known))
				default:
					t.Errorf("%s: %s (verdict %s, messages %q)", key, why, e.Verdict, e.Messages)
				}
			}
		}
	}
	t.Logf("gatekeeper-library %s: %d templates x constraints, %d of %d cases agree with the suites' assertions; known differences: %d", engine, templates, agree, cases, len(differ))
	for _, d := range differ {
		t.Log(d)
	}
	if templates == 0 {
		t.Errorf("no %s template found under %s/library: is it a gatekeeper-library checkout?", engine, root)
	}
}

func hasCELCode(tmpl map[string]any) bool {
	for _, target := range list(tmpl, "spec", "targets") {
		for _, code := range list(target, "code") {
			if str(code, "engine") == vap.EngineK8sNativeValidation {
				return true
			}
		}
	}
	return false
}

// caseProbe turns a suite case's object into a probe: an AdmissionReview gives its request's
// operation, object and old object; any other object is a CREATE of it.
func caseProbe(t *testing.T, path string) probes.Probe {
	t.Helper()
	obj := readOne(t, path)
	probe := probes.Probe{Name: filepath.Base(path), Operation: "CREATE", Object: obj}
	if str(obj, "kind") == "AdmissionReview" {
		req, _ := obj["request"].(map[string]any)
		probe.Operation = str(req, "operation")
		probe.SubResource = str(req, "subResource")
		probe.Object, _ = req["object"].(map[string]any)
		probe.OldObject, _ = req["oldObject"].(map[string]any)
		if probe.Object == nil {
			probe.Object = probe.OldObject
		}
	}
	return probe
}

// checkAssertions applies gator's assertions to the violation messages: violations is yes,
// no or a count (default yes), of the messages matching the message regular expression when
// one is given. It returns "" when all hold, else what failed.
func checkAssertions(assertions []any, msgs []string) string {
	for _, a := range assertions {
		am, _ := a.(map[string]any)
		matching := msgs
		if re, ok := am["message"].(string); ok {
			rx, err := regexp.Compile(re)
			if err != nil {
				return fmt.Sprintf("assertion message %q: %v", re, err)
			}
			matching = nil
			for _, m := range msgs {
				if rx.MatchString(m) {
					matching = append(matching, m)
				}
			}
		}
		want := "yes"
		switch v := am["violations"].(type) {
		case string:
			want = v
		case bool:
			want = map[bool]string{true: "yes", false: "no"}[v]
		case int:
			want = strconv.Itoa(v)
		case int64:
			want = strconv.FormatInt(v, 10)
		case float64:
			want = strconv.Itoa(int(v))
		}
		switch want {
		case "yes":
			if len(matching) == 0 {
				return fmt.Sprintf("want violations (message %v), got %q", am["message"], msgs)
			}
		case "no":
			if len(matching) != 0 {
				return fmt.Sprintf("want no violation (message %v), got %q", am["message"], matching)
			}
		default:
			if n, err := strconv.Atoi(want); err != nil || n != len(matching) {
				return fmt.Sprintf("want %s violations (message %v), got %d: %q", want, am["message"], len(matching), matching)
			}
		}
	}
	return ""
}

// readOne reads the single YAML document of a file as policies.Load does.
func readOne(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeYAML(path, data)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.Object != nil {
			return o.Object
		}
	}
	t.Fatalf("%s holds no object", strings.TrimSpace(path))
	return nil
}
