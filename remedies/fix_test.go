package remedies_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/pipeline"
	"github.com/threatcov/threatcov/remedies"
)

const example = "../examples/platform"

// TestFixExisting: fix names the existing objects each written policy would deny, and only
// those: the node agent by several, the CronJob for its Secret in the environment, the
// operator's role for reading Secrets, the restricted application by none.
func TestFixExisting(t *testing.T) {
	rep, err := remedies.Fix(t.Context(), remedies.Config{
		Analysis: pipeline.Config{Policies: []string{example}},
		Options:  testOptions,
		Dir:      t.TempDir(),
		Existing: []string{"testdata/existing"},
		Include:  []string{"control-plane-placement", "memory-limits"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ExistingObjects != 4 {
		t.Errorf("%d existing objects read, want 4", rep.ExistingObjects)
	}
	var got []string
	for _, h := range rep.Hits {
		got = append(got, h.Remedy+" "+h.Object)
		if h.Source.Line == 0 || !strings.HasPrefix(h.Source.File, "testdata/existing/") {
			t.Errorf("%s %s: source %s does not locate it", h.Remedy, h.Object, h.Source)
		}
	}
	for _, want := range []string{
		"host-namespaces DaemonSet kube-system/node-agent",
		"host-path DaemonSet kube-system/node-agent",
		"privilege-escalation DaemonSet kube-system/node-agent",
		"service-account-token DaemonSet kube-system/node-agent",
		"image-digests DaemonSet kube-system/node-agent",
		"control-plane-placement DaemonSet kube-system/node-agent",
		"memory-limits DaemonSet kube-system/node-agent",
		"secret-env CronJob apps/report",
		"secret-reader-roles ClusterRole cert-operator",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("no hit %q among %v", want, got)
		}
	}
	for _, g := range got {
		if strings.Contains(g, "shop") {
			t.Errorf("the restricted application is denied: %s", g)
		}
	}
	var b strings.Builder
	if err := rep.Write(&b, "fixes"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "EXISTING OBJECTS (4 read from --existing)") || !strings.Contains(b.String(), "testdata/existing/app.yaml:") {
		t.Errorf("the report does not list the existing objects:\n%s", b.String())
	}
}

// TestFixEngines: the plan and the figures after are the same whichever engine writes the
// policies, and in warn mode the steps are monitored and no path closes.
func TestFixEngines(t *testing.T) {
	run := func(e remedies.Engine, m remedies.Mode) *remedies.Report {
		o := testOptions
		o.Engine, o.Mode = e, m
		rep, err := remedies.Fix(t.Context(), remedies.Config{Analysis: pipeline.Config{Policies: []string{example}}, Options: o, Dir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	names := func(r *remedies.Report) string {
		var out []string
		for _, c := range r.Plan.Choices {
			out = append(out, c.Remedy.Name)
		}
		return fmt.Sprint(out)
	}
	vap, gk, warn := run(remedies.EngineVAP, remedies.ModeDeny), run(remedies.EngineGatekeeper, remedies.ModeDeny), run(remedies.EngineVAP, remedies.ModeWarn)
	if !vap.Kept() || !gk.Kept() {
		t.Errorf("a re-analysis did not close what the plan promised: vap %v (%s closed, %d promised), gatekeeper %v", vap.Kept(), vap.Closed(), vap.Plan.Paths, gk.Kept())
	}
	if vap.Plan.Paths == 0 || !vap.Plan.Exact {
		t.Errorf("plan: %d paths, exact %v", vap.Plan.Paths, vap.Plan.Exact)
	}
	if names(vap) != names(gk) || vap.Closed().Cmp(gk.Closed()) != 0 {
		t.Errorf("vap plan %s closes %s paths, gatekeeper plan %s closes %s", names(vap), vap.Closed(), names(gk), gk.Closed())
	}
	if names(warn) != names(vap) || warn.Closed().Sign() != 0 {
		t.Errorf("warn plan %s closed %s paths, want the deny plan %s and none", names(warn), warn.Closed(), names(vap))
	}
	if warn.After.Counts["monitored"] <= warn.Before.Counts["monitored"] {
		t.Errorf("warn mode: %d monitored steps after, %d before", warn.After.Counts["monitored"], warn.Before.Counts["monitored"])
	}
}
