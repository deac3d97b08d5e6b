package mapping_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/mapping"
	"github.com/threatcov/threatcov/probes"
)

// defaultMapping resolves the embedded default mapping against the embedded catalog, strictly:
// a selector that matches nothing or an unknown probe family fails the test.
func defaultMapping(t *testing.T) (*attacktrees.Catalog, *mapping.File, *mapping.Mapping) {
	t.Helper()
	cat, err := attacktrees.Default()
	if err != nil {
		t.Fatalf("default catalog: %v", err)
	}
	f, err := mapping.Default()
	if err != nil {
		t.Fatalf("default mapping does not parse: %v", err)
	}
	m, err := mapping.Resolve(cat, defaultFamilies(t), true, f)
	if err != nil {
		t.Fatalf("default mapping does not resolve strictly against the default catalog:\n%v", err)
	}
	if len(m.Warnings) > 0 {
		t.Fatalf("default mapping has warnings:\n%s", strings.Join(m.Warnings, "\n"))
	}
	return cat, f, m
}

func defaultFamilies(t *testing.T) []string {
	t.Helper()
	ps, err := probes.Default()
	if err != nil {
		t.Fatalf("default probes: %v", err)
	}
	var fams []string
	for _, p := range ps {
		if !slices.Contains(fams, p.Family) {
			fams = append(fams, p.Family)
		}
	}
	return fams
}

// treeCounts is one row of the counts table in docs/mapping.md.
type treeCounts struct {
	Tree                                     string
	Leaves, Policies, OutOfScope, Attestable int
	Inner                                    int
}

// TestDefaultMappingCoversEveryLeaf: no leaf of the catalog is left to the analyzer's
// "unmapped" fallback, and every mapped step says which of the three kinds it is. The counts
// it logs are the table in docs/mapping.md, which must agree.
func TestDefaultMappingCoversEveryLeaf(t *testing.T) {
	cat, _, m := defaultMapping(t)
	var rows []treeCounts
	for _, tree := range cat.Trees() {
		c := treeCounts{Tree: tree.ID}
		for _, n := range cat.Nodes() {
			if n.Tree != tree.ID {
				continue
			}
			s := m.Step(n.ID)
			if !cat.IsLeaf(n) {
				if s != nil {
					c.Inner++
				}
				continue
			}
			c.Leaves++
			switch {
			case s == nil:
				t.Errorf("%s: leaf %s %q is not mapped: add it to mapping/default.yaml (policies and probes, out-of-scope or attestable)", tree.ID, n.ID, n.Label)
			case len(s.Policies) > 0:
				c.Policies++
			case s.OutOfScope != "":
				c.OutOfScope++
			case s.Attestable != "":
				c.Attestable++
			default:
				t.Errorf("%s: leaf %s is mapped by %s:%d without policies, scope or attestability", tree.ID, n.ID, s.File, s.Line)
			}
		}
		t.Logf("%-32s leaves %3d: policies %3d, out-of-scope %3d, attestable %3d; inner nodes mapped %d",
			c.Tree, c.Leaves, c.Policies, c.OutOfScope, c.Attestable, c.Inner)
		rows = append(rows, c)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Tree < rows[j].Tree })

	doc, err := os.ReadFile("../docs/mapping.md")
	if err != nil {
		t.Fatalf("read the counts table: %v", err)
	}
	row := regexp.MustCompile(`(?m)^\| ([a-z0-9-]+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$`)
	var documented []treeCounts
	for _, r := range row.FindAllStringSubmatch(string(doc), -1) {
		n := make([]int, 5)
		for i := range n {
			n[i], _ = strconv.Atoi(r[i+2])
		}
		documented = append(documented, treeCounts{r[1], n[0], n[1], n[2], n[3], n[4]})
	}
	sort.Slice(documented, func(i, j int) bool { return documented[i].Tree < documented[j].Tree })
	if diff := cmp.Diff(rows, documented); diff != "" {
		t.Errorf("the counts table in docs/mapping.md is out of date (-computed +documented):\n%s", diff)
	}
}

// TestDefaultMappingEntries checks each entry of the file on its own: well-formed policy
// references, probes only with policies, a reason a reviewer can read, and no node claimed by
// two entries (within one file the later entry would silently win).
func TestDefaultMappingEntries(t *testing.T) {
	cat, f, _ := defaultMapping(t)
	byLabel := map[string][]*attacktrees.Node{}
	for _, n := range cat.Nodes() {
		byLabel[n.Label] = append(byLabel[n.Label], n)
	}
	names := map[string]*regexp.Regexp{
		// Gatekeeper constraint kinds are CamelCase Kubernetes kinds.
		"gatekeeper": regexp.MustCompile(`^[A-Z][A-Za-z0-9]*$`),
		"konstraint": regexp.MustCompile(`^P[0-9]{4}$`),
		"kyverno":    regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`),
		"psa":        regexp.MustCompile(`^(baseline|restricted)$`),
		"vap":        regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$`),
		"rego":       regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`),
	}
	claimed := map[string]int{}
	for _, e := range f.Steps {
		where := fmt.Sprintf("%s:%d", e.File, e.Line)
		for _, ref := range e.Policies {
			if err := mapping.CheckPolicyRef(ref); err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			engine, name, _ := strings.Cut(ref, ":")
			if !names[engine].MatchString(name) {
				t.Errorf("%s: policy reference %q: %s names do not look like that", where, ref, engine)
			}
		}
		for _, ref := range e.Policies {
			// Konstraint IDs are numbered by each team: the default names Rego packages,
			// which konstraint's generated templates carry too (docs/mapping.md).
			if strings.HasPrefix(ref, "konstraint:") {
				t.Errorf("%s: %s: the default mapping names konstraint policies by rego:PACKAGE, not by policy ID", where, ref)
			}
		}
		if dup := duplicates(e.Policies); len(dup) > 0 {
			t.Errorf("%s: policies listed twice: %v", where, dup)
		}
		if dup := duplicates(e.Probes); len(dup) > 0 {
			t.Errorf("%s: probe families listed twice: %v", where, dup)
		}
		for _, reason := range []string{e.OutOfScope, e.Attestable} {
			if reason != "" && len(strings.Fields(reason)) < 8 {
				t.Errorf("%s: reason %q is too short to convince a reviewer: say why no admission policy applies, or which control to attest", where, reason)
			}
		}
		if len(e.Policies) > 0 && !strings.HasSuffix(strings.TrimSpace(e.Note), ".") {
			t.Errorf("%s: a policy entry needs a note saying what the probes prove and what they do not", where)
		}
		var ids []string
		ids = append(ids, e.Nodes...)
		for _, l := range e.Labels {
			for _, n := range byLabel[l] {
				ids = append(ids, n.ID)
			}
		}
		for _, id := range ids {
			if prev, ok := claimed[id]; ok {
				t.Errorf("%s: node %s is also selected by the entry at line %d: one entry per node", where, id, prev)
			}
			claimed[id] = e.Line
		}
	}
}

func duplicates(list []string) []string {
	seen := map[string]bool{}
	var dup []string
	for _, s := range list {
		if seen[s] {
			dup = append(dup, s)
		}
		seen[s] = true
	}
	return dup
}

// TestDefaultMappingKeySteps pins the mapping of steps whose policies users look for first.
func TestDefaultMappingKeySteps(t *testing.T) {
	_, _, m := defaultMapping(t)
	type want struct {
		points   []probes.Point
		policies []string // must be among the step's policies
		probes   []string // exactly the step's probe families
		kind     string   // "policies", "out-of-scope" or "attestable"
	}
	tests := []struct {
		name string
		node string
		want want
	}{
		{"HostPID in malicious code execution", "mce-find-pod-with-hostpid", want{
			points:   []probes.Point{"admission"},
			policies: []string{"gatekeeper:K8sPSPHostNamespace", "rego:pod_deny_host_pid", "kyverno:disallow-host-namespaces", "psa:baseline"},
			probes:   []string{"host-pid"},
			kind:     "policies",
		}},
		{"HostPID drawn again in denial of service", "dos-find-pod-with-hostpid", want{
			points:   []probes.Point{"admission"},
			policies: []string{"gatekeeper:K8sPSPHostNamespace", "psa:baseline"},
			probes:   []string{"host-pid"},
			kind:     "policies",
		}},
		{"host networking is not a host namespace for Gatekeeper", "asd-find-pod-with-hostnetwork", want{
			points:   []probes.Point{"admission"},
			policies: []string{"gatekeeper:K8sPSPHostNetworkingPorts", "rego:pod_deny_host_network", "rego:pod_deny_host_namespaces", "kyverno:disallow-host-namespaces", "psa:baseline"},
			probes:   []string{"host-network"},
			kind:     "policies",
		}},
		{"host filesystem needs both hostPath and privileged denied", "scc-container-has-host-filesystem-access", want{
			points:   []probes.Point{"admission"},
			policies: []string{"gatekeeper:K8sPSPHostFilesystem", "gatekeeper:K8sPSPPrivilegedContainer", "kyverno:disallow-host-path", "psa:baseline"},
			probes:   []string{"host-path-mount", "privileged-container"},
			kind:     "policies",
		}},
		{"privileged container", "dos-find-privileged-container", want{
			points:   []probes.Point{"admission"},
			policies: []string{"gatekeeper:K8sPSPPrivilegedContainer", "rego:container_deny_privileged", "kyverno:disallow-privileged-containers", "psa:baseline"},
			probes:   []string{"privileged-container"},
			kind:     "policies",
		}},
		{"running as root needs restricted", "san-container-running-as-root", want{
			points:   []probes.Point{"admission"},
			policies: []string{"gatekeeper:K8sPSPAllowedUsers", "rego:pod_deny_without_runasnonroot", "rego:container_deny_run_as_root", "psa:restricted"},
			probes:   []string{"run-as-root"},
			kind:     "policies",
		}},
		{"normal release crosses the pipeline too", "per-image-deployed-normal-release", want{
			points:   []probes.Point{"admission", "pipeline"},
			policies: []string{"gatekeeper:K8sImageDigests"},
			probes:   []string{"image-without-digest"},
			kind:     "policies",
		}},
		{"deploying a poisoned image is an action of an inner node", "mce-deploy-poisoned-image", want{
			points:   []probes.Point{"admission", "pipeline"},
			policies: []string{"gatekeeper:K8sAllowedRepos", "gatekeeper:K8sImageDigests", "rego:container_allowed_repos"},
			probes:   []string{"image-without-digest", "untrusted-image-registry"},
			kind:     "policies",
		}},
		{"anonymous binding", "asd-exploit-unauthenticated-role", want{
			points:   []probes.Point{"admission"},
			policies: []string{"gatekeeper:K8sDisallowAnonymous", "rego:rbac_deny_privileged_bindings"},
			probes:   []string{"unauthenticated-binding"},
			kind:     "policies",
		}},
		{"network floods are out of scope", "dos-syn-flood", want{kind: "out-of-scope", points: []probes.Point{"admission"}}},
		{"SDLC is out of scope", "per-app-compromise-build-server", want{kind: "out-of-scope", points: []probes.Point{"admission"}}},
		{"the insecure port is control-plane configuration", "mce-misconfigured-api-server-8080", want{kind: "attestable", points: []probes.Point{"admission"}}},
		{"kubelet anonymous auth never reaches admission", "dos-exploit-kubelet-10250-anonymous-auth", want{kind: "attestable", points: []probes.Point{"admission"}}},
		{"service account privilege is an RBAC review", "scc-service-account-sufficient-privilege", want{kind: "attestable", points: []probes.Point{"admission"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := m.Step(tc.node)
			if s == nil {
				t.Fatalf("%s is not mapped", tc.node)
			}
			kind := "policies"
			switch {
			case s.OutOfScope != "":
				kind = "out-of-scope"
			case s.Attestable != "":
				kind = "attestable"
			}
			got := want{points: s.Points, probes: s.Probes, kind: kind}
			for _, p := range tc.want.policies {
				if slices.Contains(s.Policies, p) {
					got.policies = append(got.policies, p)
				}
			}
			w := tc.want
			sort.Strings(w.probes)
			if diff := cmp.Diff(w, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("%s (%s:%d) mismatch (-want +got):\n%s", tc.node, s.File, s.Line, diff)
			}
		})
	}
}

// TestDefaultMappingInnerNodes pins the inner nodes the default maps. Mapping an inner node
// makes its own action a condition of every path through it (docs/semantics.md, "Propagation and paths"), so a
// label selector that starts matching a new inner node after a catalog change must be a
// decision, not an accident.
func TestDefaultMappingInnerNodes(t *testing.T) {
	cat, _, m := defaultMapping(t)
	var got []string
	for _, s := range m.Steps() {
		if !cat.IsLeaf(s.Node) {
			got = append(got, s.Node.ID)
		}
	}
	want := []string{
		"asd-find-valid-service-account-token",
		"dos-find-valid-service-account-token",
		"dos-memory-request",
		"mce-deploy-poisoned-image",
		"mce-find-valid-service-account-token",
		"per-utilise-poisoned-container-image",
		"san-abuse-existing-privileged-pod",
		"san-exploit-api-server-port-8080",
		"san-exploit-unauthenticated-role-binding",
		"san-host-networking-enabled",
		"san-kubelet-10250-exposed-to-cni",
		"san-kubelet-10255-unauthenticated-port",
		"san-net-cap-capability-available",
		"scc-find-valid-service-account-token",
		"scc-host-networking-enabled",
		"scc-net-cap-capability-available",
		"scc-sign-certificate-using-kubernetes-api",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inner nodes mapped by mapping/default.yaml (-want +got):\n%s", diff)
	}
}
