package reports

import (
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/probes"
)

// The fixtures are results built by hand, so the goldens pin the renderers and not the
// analyzer: a change in the analysis cannot hide a change in a format.

func bi(n int64) *big.Int { return big.NewInt(n) }

func rat(num, den int64) *analyzer.Ratio {
	r := &analyzer.Ratio{Num: bi(num), Den: bi(den)}
	if den > 0 {
		p := math.Round(float64(num)/float64(den)*10000) / 100
		r.Percent = &p
	}
	return r
}

func paths(blocked, all int64) analyzer.PathFigures {
	return analyzer.PathFigures{Coverage: *rat(blocked, all), Open: bi(all - blocked)}
}

func path(steps ...string) analyzer.Path {
	return analyzer.Path{Fingerprint: strings.Join(steps, "+"), Steps: steps}
}

func loadCatalog(t testing.TB, dir string) *attacktrees.Catalog {
	t.Helper()
	trees, err := attacktrees.ReadPaths(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := attacktrees.Build(trees)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// smallResult is an analysis of testdata/small/trees with one step of every status.
func smallResult() *analyzer.Result {
	step := func(node, tree, label string, status analyzer.Status, open int64) analyzer.StepResult {
		return analyzer.StepResult{Node: node, Tree: tree, Label: label, Leaf: true, Status: status, OpenPaths: bi(open), Points: []probes.Point{probes.PointAdmission}}
	}
	hostpid := step("demo-hostpid", "demo", "Start a pod in the host PID namespace", analyzer.StatusBlocked, 0)
	hostpid.Evidence = analyzer.EvidenceVerified
	hostpid.Blocking = []string{"gatekeeper:K8sPSPHostNamespace/psp-host-namespace"}
	hostpid.Mapped = []string{"gatekeeper:K8sPSPHostNamespace"}
	hostpid.Explanation = "denied by gatekeeper:K8sPSPHostNamespace/psp-host-namespace on every probe"
	hostpid.Attack, hostpid.ThreatMatrix = []string{"T1610", "T1611"}, []string{"MS-TA9008"}
	priv := step("demo-privileged", "demo", "Run a privileged container", analyzer.StatusMonitored, 1)
	priv.Monitoring = []string{"kyverno:disallow-privileged"}
	priv.Mapped = []string{"kyverno:disallow-privileged"}
	priv.Explanation = "only flagged: kyverno:disallow-privileged is in Audit mode"
	priv.Attack, priv.ThreatMatrix = []string{"T1610", "T1611"}, []string{"MS-TA9018"}
	exploit := step("demo-exploit", "demo", "Exploit the kernel", analyzer.StatusOutOfScope, 1)
	exploit.Reason = "kernel exploits are not admission requests"
	exploit.Attack, exploit.ThreatMatrix = []string{"T1190"}, []string{"MS-TA9009"}
	release := step("demo-release", "demo", "Image deployed as part of normal release", analyzer.StatusBypassed, 0)
	release.Mapped = []string{"gatekeeper:K8sAllowedRepos"}
	release.Admitted = []string{"release-initcontainer@default"}
	release.Explanation = "gatekeeper:K8sAllowedRepos/repos admits the initContainers variant"
	release.Attack, release.ThreatMatrix = []string{"T1525"}, []string{"MS-TA9002"}
	registry := step("demo-registry", "demo", "Poison image in registry &amp; \\N", analyzer.StatusAttested, 0)
	registry.Attestation = &analyzer.Attestation{Control: "registry signing", Evidence: "SEC-42", Expires: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	registry.Explanation = "attested: registry signing (SEC-42) until 2027-01-01"
	registry.Attack, registry.ThreatMatrix = []string{"T1525"}, []string{"MS-TA9002"}
	token := step("demo-token", "demo", "Steal a service account token", analyzer.StatusOpen, 0)
	token.Explanation = "no policy is mapped to this step"
	token.Attack, token.ThreatMatrix = []string{"T1528"}, []string{"MS-TA9016"}
	other := step("other-step", "other", "Mount the host filesystem", analyzer.StatusOpen, 2)
	other.Mapped = []string{"gatekeeper:K8sPSPHostFilesystem"}
	other.Missing = []string{"gatekeeper:K8sPSPHostFilesystem"}
	other.Explanation = "mapped policy gatekeeper:K8sPSPHostFilesystem is not deployed"
	other.Attack, other.ThreatMatrix = []string{"T1611"}, []string{"MS-TA9013"}

	node := func(id, tree string, status analyzer.Status, open int64, policies ...string) analyzer.NodeResult {
		return analyzer.NodeResult{ID: id, Tree: tree, Status: status, OpenPaths: bi(open), Policies: policies}
	}
	hostpidNode := node("demo-hostpid", "demo", analyzer.StatusBlocked, 0, "gatekeeper:K8sPSPHostNamespace/psp-host-namespace")
	hostpidNode.Evidence = analyzer.EvidenceVerified

	return &analyzer.Result{
		SchemaVersion: analyzer.SchemaVersion,
		GeneratedAt:   time.Date(2026, 11, 28, 6, 0, 0, 0, time.UTC),
		Inputs:        analyzer.Inputs{Trees: []string{"demo", "other"}, Policies: []string{"testdata/policies"}, Mapping: []string{"mapping/default.yaml"}, Namespaces: []string{"default"}, MaxPaths: 20, Date: "2026-11-28"},
		Summary: analyzer.Figures{Paths: paths(3, 6), Goals: rat(1, 3), Steps: rat(2, 6),
			StepCounts: map[analyzer.Status]int{analyzer.StatusBlocked: 1, analyzer.StatusAttested: 1, analyzer.StatusMonitored: 1, analyzer.StatusBypassed: 1, analyzer.StatusOpen: 2, analyzer.StatusOutOfScope: 1}},
		Trees: []analyzer.TreeResult{
			{ID: "demo", Title: "Demo <tree> & friends", Figures: analyzer.Figures{Paths: paths(3, 5), Goals: rat(1, 2), Steps: rat(2, 6)},
				Goals: []analyzer.GoalResult{
					{ID: "demo-goal", Tree: "demo", Label: "Run code on the node", Status: analyzer.StatusOpen,
						Figures:   analyzer.Figures{Paths: paths(2, 4), Steps: rat(2, 5)},
						OpenPaths: []analyzer.Path{path("other-step"), path("demo-exploit", "demo-privileged")}, NotShown: bi(0)},
					{ID: "demo-secrets", Tree: "demo", Label: "Read secrets", Status: analyzer.StatusBlocked,
						Figures:   analyzer.Figures{Paths: paths(1, 1), Steps: rat(1, 2)},
						OpenPaths: []analyzer.Path{}, NotShown: bi(0)},
				}},
			{ID: "other", Title: "Other", Figures: analyzer.Figures{Paths: paths(0, 1), Goals: rat(0, 1), Steps: rat(0, 1)},
				Goals: []analyzer.GoalResult{
					{ID: "other-goal", Tree: "other", Label: "Reach the other goal", Status: analyzer.StatusOpen,
						Figures:   analyzer.Figures{Paths: paths(0, 1), Steps: rat(0, 1)},
						OpenPaths: []analyzer.Path{path("other-step")}, NotShown: bi(0)},
				}},
		},
		Steps: []analyzer.StepResult{hostpid, priv, exploit, release, registry, token, other},
		Nodes: []analyzer.NodeResult{
			node("demo-goal", "demo", analyzer.StatusOpen, 2),
			hostpidNode,
			node("demo-escape", "demo", analyzer.StatusOpen, 1),
			node("demo-privileged", "demo", analyzer.StatusMonitored, 1),
			node("demo-exploit", "demo", analyzer.StatusOutOfScope, 1),
			node("demo-poison", "demo", analyzer.StatusBlocked, 0),
			node("demo-release", "demo", analyzer.StatusBypassed, 0),
			node("demo-registry", "demo", analyzer.StatusAttested, 0),
			node("demo-sub", "demo", analyzer.StatusOpen, 1),
			node("demo-secrets", "demo", analyzer.StatusBlocked, 0),
			node("demo-token", "demo", analyzer.StatusOpen, 0),
			node("other-goal", "other", analyzer.StatusOpen, 2),
			node("other-step", "other", analyzer.StatusOpen, 2),
		},
		Recommendations: []analyzer.Recommendation{
			{Rank: 1, Action: "deploy", Policy: "gatekeeper:K8sPSPHostFilesystem", Steps: []string{"other-step"}, Closes: bi(2), Exact: true},
			{Rank: 2, Action: "enforce", Policy: "kyverno:disallow-privileged", Steps: []string{"demo-privileged"}, Closes: bi(1), Exact: true},
		},
		Warnings: []string{"mapping: node \"demo-token\" has no policy"},
	}
}

// emptyResult is an analysis of no trees: every figure has an empty denominator.
func emptyResult() *analyzer.Result {
	return &analyzer.Result{
		SchemaVersion:   analyzer.SchemaVersion,
		Inputs:          analyzer.Inputs{Trees: []string{}, Mapping: []string{"mapping/default.yaml"}, MaxPaths: 20},
		Summary:         analyzer.Figures{Paths: paths(0, 0), Goals: rat(0, 0), Steps: rat(0, 0)},
		Trees:           []analyzer.TreeResult{},
		Steps:           []analyzer.StepResult{},
		Nodes:           []analyzer.NodeResult{},
		Recommendations: []analyzer.Recommendation{},
	}
}
