package policies

import (
	"reflect"
	"strings"
	"testing"
)

// The CLI's output as `kyverno apply --policy-report --output-format json` prints it: lines
// before the reports, a ClusterReport, then a PolicyReport per namespaced policy after "---".
const kyvernoOutput = `----------------------------------------------------------------------
Policies Skipped:
1. broken: invalid variable used at path: spec/rules[0]/validate/deny
----------------------------------------------------------------------
{"kind":"ClusterReport","apiVersion":"openreports.io/v1alpha1","metadata":{"name":"merged"},"results":[` +
	`{"source":"kyverno","policy":"disallow-host-pid","rule":"host-pid","result":"fail","message":"validation error: no","resources":[{"kind":"Pod","namespace":"apps","name":"p","uid":"threatcov-0"}]},` +
	`{"source":"kyverno","policy":"disallow-host-pid","rule":"autogen-host-pid","result":"pass","resources":[{"kind":"Deployment","namespace":"apps","name":"d","uid":"threatcov-1"}]},` +
	`{"source":"kyverno","policy":"disallow-host-pid","rule":"host-pid","result":"skip","message":"rule skipped due to policy exception legacy/x","properties":{"exceptions":"x"},"resources":[{"kind":"Pod","namespace":"legacy","name":"p","uid":"threatcov-2"}]}` +
	`],"summary":{"pass":1,"fail":1,"warn":0,"error":0,"skip":1}}
---
{"kind":"PolicyReport","apiVersion":"openreports.io/v1alpha1","metadata":{"name":"local","namespace":"apps"},"results":[` +
	`{"source":"kyverno","policy":"apps/local","rule":"r","result":"error","message":"boom","resources":[{"uid":"threatcov-0"}]}]}
`

func TestParseKyvernoReport(t *testing.T) {
	got, err := parseKyvernoReport(kyvernoOutput)
	if err != nil {
		t.Fatal(err)
	}
	summary := map[string][]string{}
	for uid, rs := range got {
		for _, r := range rs {
			summary[uid] = append(summary[uid], r.Policy+"/"+r.Rule+"="+r.Result)
		}
	}
	want := map[string][]string{
		"threatcov-0": {"disallow-host-pid/host-pid=fail", "apps/local/r=error"},
		"threatcov-1": {"disallow-host-pid/autogen-host-pid=pass"},
		"threatcov-2": {"disallow-host-pid/host-pid=skip"},
	}
	if !reflect.DeepEqual(summary, want) {
		t.Fatalf("results by uid:\n got %v\nwant %v", summary, want)
	}
	if ex := got["threatcov-2"][0].Properties["exceptions"]; ex != "x" {
		t.Errorf("exceptions property = %q, want x", ex)
	}
	if skipped := skippedPolicies(kyvernoOutput); !reflect.DeepEqual(skipped, map[string]string{"broken": "invalid variable used at path: spec/rules[0]/validate/deny"}) {
		t.Errorf("skipped policies = %v", skipped)
	}
}

func TestParseKyvernoReportRejects(t *testing.T) {
	for name, tc := range map[string]struct{ out, want string }{
		"no report":      {"Applying 1 policy rule(s) to 1 resource(s)...\n", "printed no policy report"},
		"broken JSON":    {`{"kind":"ClusterReport","results":[` + "\n", "unreadable report"},
		"unknown result": {`{"kind":"ClusterReport","results":[{"policy":"p","rule":"r","result":"maybe","resources":[{"uid":"u"}]}]}` + "\n", `unknown result "maybe"`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseKyvernoReport(tc.out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestKyvernoVerdict: the report's rule results become one policy's verdict: only its own
// rules count (autogen names included), a failure denies, a runtime error counts as
// failurePolicy says unless the policy loads external data, a skip (exception) is not
// applicable, and an Audit override turns an enforced denial into an admission.
func TestKyvernoVerdict(t *testing.T) {
	pol := func(mut func(k *kyvernoStatic)) *Policy {
		k := &kyvernoStatic{key: "p", ruleNames: map[string]bool{"r": true}, failurePolicy: "Fail", imageRules: map[string]bool{}}
		if mut != nil {
			mut(k)
		}
		return &Policy{ID: "kyverno:p", Mode: ModeEnforce, Source: Location{File: "p.yaml", Line: 3}, kyverno: k}
	}
	rr := func(policy, rule, res string) reportResult {
		return reportResult{Policy: policy, Rule: rule, Result: res, Description: "d"}
	}
	overrides := []any{map[string]any{"action": "Audit", "namespaces": []any{"legacy*"}}}
	for name, tc := range map[string]struct {
		p    *Policy
		ns   string
		rs   []reportResult
		want Verdict
		msg  string
	}{
		"fail denies":                     {p: pol(nil), rs: []reportResult{rr("p", "r", "pass"), rr("p", "r", "fail")}, want: VerdictDenied, msg: "r: d"},
		"autogen rule counts":             {p: pol(nil), rs: []reportResult{rr("p", "autogen-cronjob-r", "fail")}, want: VerdictDenied},
		"warn (unscored) denies":          {p: pol(nil), rs: []reportResult{rr("p", "r", "warn")}, want: VerdictDenied},
		"other policy ignored":            {p: pol(nil), rs: []reportResult{rr("q", "r", "fail")}, want: VerdictNotApplicable},
		"other rule ignored":              {p: pol(nil), rs: []reportResult{rr("p", "s", "fail"), rr("p", "r", "pass")}, want: VerdictAdmitted},
		"pass admits":                     {p: pol(nil), rs: []reportResult{rr("p", "r", "pass")}, want: VerdictAdmitted},
		"skip is not applicable":          {p: pol(nil), rs: []reportResult{rr("p", "r", "skip")}, want: VerdictNotApplicable, msg: "r: d"},
		"no result is not applicable":     {p: pol(nil), want: VerdictNotApplicable},
		"error with failurePolicy Fail":   {p: pol(nil), rs: []reportResult{rr("p", "r", "error")}, want: VerdictDenied, msg: "counted as a denial by failurePolicy Fail"},
		"error with failurePolicy Ignore": {p: pol(func(k *kyvernoStatic) { k.failurePolicy = "Ignore" }), rs: []reportResult{rr("p", "r", "error")}, want: VerdictAdmitted},
		"error loading external data":     {p: pol(func(k *kyvernoStatic) { k.external = true }), rs: []reportResult{rr("p", "r", "error")}, want: VerdictError},
		"verifyImages is not executed":    {p: pol(func(k *kyvernoStatic) { k.imageRules["r"] = true }), rs: []reportResult{rr("p", "r", "pass")}, want: VerdictError},
		"audit override admits":           {p: pol(func(k *kyvernoStatic) { k.overrides = overrides }), ns: "legacy-1", rs: []reportResult{rr("p", "r", "fail")}, want: VerdictAdmitted, msg: "sets Audit in namespace legacy-1"},
		"audit override elsewhere":        {p: pol(func(k *kyvernoStatic) { k.overrides = overrides }), ns: "apps", rs: []reportResult{rr("p", "r", "fail")}, want: VerdictDenied},
		"role exclusion is not trusted":   {p: pol(func(k *kyvernoStatic) { k.roleExcluded = map[string]bool{"r": true} }), rs: []reportResult{rr("p", "r", "fail")}, want: VerdictError, msg: "by role"},
		"validating policy: every rule":   {p: pol(func(k *kyvernoStatic) { k.vp = true; k.ruleNames = nil }), rs: []reportResult{rr("p", "", "fail")}, want: VerdictDenied},
	} {
		t.Run(name, func(t *testing.T) {
			got := kyvernoVerdict(tc.p, firstNonEmpty(tc.ns, "apps"), nil, tc.rs)
			if got.verdict != tc.want {
				t.Fatalf("verdict = %s (%v %s), want %s", got.verdict, got.messages, got.err, tc.want)
			}
			if tc.msg != "" && !strings.Contains(strings.Join(got.messages, "\n")+got.err, tc.msg) {
				t.Errorf("messages %q lack %q", got.messages, tc.msg)
			}
		})
	}
}
