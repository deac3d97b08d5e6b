package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/net/html"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/pipeline"
)

// catalogResult is a real analysis of the embedded catalog with no policy deployed: every
// tree, goal and step of the catalog appears, so the structural checks cover all of them.
func catalogResult(t testing.TB) (*analyzer.Result, *attacktrees.Catalog) {
	t.Helper()
	r, c, err := pipeline.Run(context.Background(), pipeline.Config{MaxPaths: 3, Date: "2026-11-28"})
	if err != nil {
		t.Fatal(err)
	}
	return r, c
}

// exampleResult is a real analysis of the example platform's policies: steps of every status,
// with the files and lines of its mapping entries and policies.
func exampleResult(t testing.TB) (*analyzer.Result, *attacktrees.Catalog) {
	t.Helper()
	r, c, err := pipeline.Run(context.Background(), pipeline.Config{Policies: []string{"../examples/platform"}, MaxPaths: 3, Date: "2026-11-28"})
	if err != nil {
		t.Fatal(err)
	}
	return r, c
}

func render(t *testing.T, format string, r *analyzer.Result, c *attacktrees.Catalog) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, format, r, c); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSARIFSchema validates SARIF output against the OASIS SARIF 2.1.0 schema (vendored in
// testdata/sarif) with formats asserted, and checks what code scanning relies on.
func TestSARIFSchema(t *testing.T) {
	comp := jsonschema.NewCompiler()
	comp.AssertFormat()
	schema, err := comp.Compile("testdata/sarif/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	catalog, cat := catalogResult(t)
	example, exampleCat := exampleResult(t)
	cases := []reportCase{{"catalog", catalog, cat}, {"example", example, exampleCat}}
	cases = append(cases, reportCases(t)...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := render(t, "sarif", tc.result, tc.catalog)
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(inst); err != nil {
				t.Fatalf("SARIF does not validate against the 2.1.0 schema: %v", err)
			}
			var log sarifLog
			if err := jsonUnmarshalStrict(out, &log); err != nil {
				t.Fatal(err)
			}
			ids := map[string]bool{}
			for _, res := range log.Runs[0].Results {
				fp := res.PartialFingerprints[SARIFFingerprintKey]
				if fp == "" || ids[fp] || res.CorrelationGUID != guidOf(fp) {
					t.Errorf("result %+v: missing or duplicate fingerprint, or a correlationGuid not derived from it", res)
				}
				ids[fp] = true
				rule := log.Runs[0].Tool.Driver.Rules[res.RuleIndex]
				if rule.ID != res.RuleID || res.Level != rule.DefaultConfiguration.Level {
					t.Errorf("ruleIndex %d names %s (%s), result says %s (%s)", res.RuleIndex, rule.ID, rule.DefaultConfiguration.Level, res.RuleID, res.Level)
				}
			}
			for _, rule := range log.Runs[0].Tool.Driver.Rules {
				if _, ok := rule.Properties["security-severity"].(string); !ok {
					t.Errorf("rule %s lacks security-severity", rule.ID)
				}
			}
			if d := log.Runs[0].Tool.Driver; d.Version != testToolVersion || d.SemanticVersion != testToolSemantic {
				t.Errorf("driver version %q (%q), want %q (%q)", d.Version, d.SemanticVersion, testToolVersion, testToolSemantic)
			}
		})
	}
}

// TestSARIFOneResultPerStep: on the whole catalog with nothing deployed, each step label with a
// status that leaves paths open gives exactly one result at the level of its status, listing
// every node with that label, and blocked or attested steps give none.
func TestSARIFOneResultPerStep(t *testing.T) {
	r, c := catalogResult(t)
	var log sarifLog
	if err := jsonUnmarshalStrict(render(t, "sarif", r, c), &log); err != nil {
		t.Fatal(err)
	}
	levels := map[analyzer.Status]string{analyzer.StatusBypassed: "error", analyzer.StatusOpen: "error", analyzer.StatusMonitored: "warning", analyzer.StatusOutOfScope: "note"}
	want := map[string][]string{} // rule id + label -> node ids
	for _, s := range r.Steps {
		if s.Status.Closes() {
			continue
		}
		rule := "threatcov/step-" + string(s.Status)
		if s.OpenKind == analyzer.OpenAttestation {
			rule = "threatcov/step-awaiting-attestation"
		}
		want[rule+" "+s.Label] = append(want[rule+" "+s.Label], s.Node)
	}
	got := map[string][]string{}
	for _, res := range log.Runs[0].Results {
		var nodes []string
		for _, n := range res.Properties["nodes"].([]any) {
			nodes = append(nodes, n.(string))
		}
		label := r.Steps[slices.IndexFunc(r.Steps, func(s analyzer.StepResult) bool { return s.Node == nodes[0] })].Label
		key := res.RuleID + " " + label
		if _, dup := got[key]; dup {
			t.Errorf("two results for %s", key)
		}
		got[key] = nodes
		status := analyzer.Status(res.Properties["status"].(string))
		wantLevel := levels[status]
		if res.Properties["openKind"] == string(analyzer.OpenAttestation) {
			wantLevel = "warning"
		}
		if res.Level != wantLevel {
			t.Errorf("%s: level %s, want %s", key, res.Level, wantLevel)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if nodes := got["threatcov/step-out-of-scope Exploit API server CVE"]; len(nodes) < 2 {
		t.Errorf("a step drawn in several trees is one result listing its nodes; got %v", nodes)
	}
}

// TestSARIFLocations pins where results point on the example: a bypassed step drawn in two
// trees is one result at its entry in the embedded mapping, with its nodes in the tree files and
// the deployed policies that let the variants through at their files and lines.
func TestSARIFLocations(t *testing.T) {
	r, c := exampleResult(t)
	var log sarifLog
	if err := jsonUnmarshalStrict(render(t, "sarif", r, c), &log); err != nil {
		t.Fatal(err)
	}
	where := func(l sarifLocation) string {
		p := l.PhysicalLocation
		if p == nil {
			return ""
		}
		if p.Region == nil {
			return p.ArtifactLocation.URI
		}
		return fmt.Sprintf("%s:%d", p.ArtifactLocation.URI, p.Region.StartLine)
	}
	byMessage := func(prefix string) *sarifResult {
		for i, res := range log.Runs[0].Results {
			if strings.HasPrefix(res.Message.Text, prefix) {
				return &log.Runs[0].Results[i]
			}
		}
		t.Fatalf("no result whose message starts with %q", prefix)
		return nil
	}
	res := byMessage(`Attack step gets past a deployed policy: "Host networking enabled in pod"`)
	if res.RuleID != "threatcov/step-bypassed" || res.Level != "error" {
		t.Errorf("rule %s, level %s", res.RuleID, res.Level)
	}
	entry := mappingEntryLine(t, "Host networking enabled in pod")
	if got, want := where(res.Locations[0]), fmt.Sprintf("mapping/default.yaml:%d", entry); got != want {
		t.Errorf("located at %s, want %s", got, want)
	}
	var related []string
	for _, l := range res.RelatedLocations {
		related = append(related, where(l))
	}
	for _, want := range []string{
		"attacktrees/catalog/scenario-attacker-on-network.yaml:",
		"attacktrees/catalog/scenario-compromised-container.yaml:",
		"../examples/platform/gatekeeper/pod-deny-host-namespaces-constraint.yaml:",
		"../examples/platform/namespaces.yaml:",
	} {
		if !slices.ContainsFunc(related, func(s string) bool { return strings.HasPrefix(s, want) }) {
			t.Errorf("related locations %v lack %s...", related, want)
		}
	}
	for _, want := range []string{`in trees "Scenario: attacker on the network", "Scenario: compromised container";`, "open attack paths go through it", "Why: bypassed:", "host-network/pod@kube-system", "Fix: label namespaces kube-system, apps, default pod-security.kubernetes.io/enforce=baseline"} {
		if !strings.Contains(res.Message.Text, want) {
			t.Errorf("message lacks %q:\n%s", want, res.Message.Text)
		}
	}
}

// mappingEntryLine is the line of the embedded mapping's entry that selects label.
func mappingEntryLine(t *testing.T, label string) int {
	t.Helper()
	data, err := os.ReadFile("../mapping/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	entry := 0
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "  - ") {
			entry = i + 1
		}
		if strings.Contains(line, "- "+label) || strings.Contains(line, strconv.Quote(label)) {
			return entry
		}
	}
	t.Fatalf("no mapping entry selects %q", label)
	return 0
}

// junitShape is the JUnit structure CI systems read: which element may hold which, and the
// attributes each must carry.
var junitShape = map[string]struct {
	children []string
	attrs    []string
}{
	"testsuites": {[]string{"testsuite"}, []string{"name", "tests", "failures", "errors"}},
	"testsuite":  {[]string{"properties", "testcase"}, []string{"name", "tests", "failures", "errors", "skipped"}},
	"properties": {[]string{"property"}, nil},
	"property":   {nil, []string{"name", "value"}},
	"testcase":   {[]string{"failure", "system-out"}, []string{"name", "classname"}},
	"failure":    {nil, []string{"message", "type"}},
	"system-out": {nil, nil},
}

// checkJUnit walks the XML with a strict decoder: every element must be allowed where it is,
// carry its attributes, and the counts must add up.
func checkJUnit(t *testing.T, data []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var stack []string
	counts := map[string]int{}
	failuresAttr := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("JUnit XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			name := el.Name.Local
			shape, ok := junitShape[name]
			if !ok {
				t.Fatalf("unexpected element <%s>", name)
			}
			if len(stack) == 0 && name != "testsuites" {
				t.Fatalf("root is <%s>, want <testsuites>", name)
			}
			if len(stack) > 0 {
				parent := junitShape[stack[len(stack)-1]]
				allowed := false
				for _, c := range parent.children {
					allowed = allowed || c == name
				}
				if !allowed {
					t.Fatalf("<%s> inside <%s>", name, stack[len(stack)-1])
				}
			}
			have := map[string]string{}
			for _, a := range el.Attr {
				have[a.Name.Local] = a.Value
			}
			for _, a := range shape.attrs {
				if _, ok := have[a]; !ok {
					t.Fatalf("<%s> lacks attribute %s", name, a)
				}
			}
			if name == "testsuite" {
				var n int
				fmt.Sscan(have["failures"], &n)
				failuresAttr += n
			}
			counts[name]++
			stack = append(stack, name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	if counts["failure"] != failuresAttr {
		t.Errorf("%d <failure> elements, testsuites count %d", counts["failure"], failuresAttr)
	}
}

func TestJUnitStructure(t *testing.T) {
	catalog, cat := catalogResult(t)
	for _, tc := range append([]reportCase{{"catalog", catalog, cat}}, reportCases(t)...) {
		t.Run(tc.name, func(t *testing.T) {
			checkJUnit(t, render(t, "junit", tc.result, tc.catalog))
		})
	}
	// One test case per goal, a suite per tree.
	var doc junitSuites
	if err := xml.Unmarshal(render(t, "junit", catalog, cat), &doc); err != nil {
		t.Fatal(err)
	}
	goals := 0
	for _, tr := range cat.Trees() {
		goals += len(cat.Goals(tr.ID))
	}
	if len(doc.Suites) != len(cat.Trees()) || doc.Tests != goals {
		t.Errorf("%d suites and %d tests, want %d and %d", len(doc.Suites), doc.Tests, len(cat.Trees()), goals)
	}
}

// TestHTMLSelfContained parses the HTML report: every tree's SVG is inline, nothing is loaded
// from elsewhere, no script or event handler exists, and hostile labels arrive as text.
func TestHTMLSelfContained(t *testing.T) {
	catalog, cat := catalogResult(t)
	cases := []reportCase{{"catalog", catalog, cat}, {"small", smallResult(), loadCatalog(t, "testdata/small/trees")}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := html.Parse(bytes.NewReader(render(t, "html", tc.result, tc.catalog)))
			if err != nil {
				t.Fatal(err)
			}
			svgs := map[string]bool{}
			var text strings.Builder
			var walk func(*html.Node)
			walk = func(n *html.Node) {
				if n.Type == html.TextNode {
					text.WriteString(n.Data)
				}
				if n.Type == html.ElementNode {
					switch n.Data {
					case "script", "iframe", "object", "embed", "link", "img", "image", "use", "foreignObject":
						t.Errorf("element <%s> in a self-contained report", n.Data)
					}
					for _, a := range n.Attr {
						key := strings.ToLower(a.Key)
						if strings.HasPrefix(key, "on") {
							t.Errorf("event handler %s on <%s>", a.Key, n.Data)
						}
						if (key == "href" || key == "src" || key == "xlink:href") && !strings.HasPrefix(a.Val, "#") {
							t.Errorf("<%s %s=%q> points outside the document", n.Data, a.Key, a.Val)
						}
						if n.Data == "svg" && key == "id" {
							svgs[a.Val] = true
						}
						if key == "id" && n.Data == "g" && strings.HasPrefix(a.Val, "tree:") {
							svgs[a.Val] = true
						}
					}
				}
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
			}
			walk(doc)
			for _, tr := range tc.result.Trees {
				if !svgs["tree:"+tr.ID] {
					t.Errorf("no inline SVG for tree %s", tr.ID)
				}
			}
			if tc.name == "small" && !strings.Contains(text.String(), "Deploy <script>alert(1)</script> image") {
				t.Errorf("the hostile label does not arrive as text")
			}
		})
	}
}

// TestSVGEscapesLabels parses the SVG strictly: the label holding <script> is character data,
// not an element, and a DOT escape in a label is not expanded.
func TestSVGEscapesLabels(t *testing.T) {
	svg, err := TreeSVG(context.Background(), loadCatalog(t, "testdata/small/trees"), smallResult(), "demo")
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg))
	dec.Strict = true
	dec.Entity = xml.HTMLEntity
	var text strings.Builder
	ids := map[string]bool{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if el.Name.Local == "script" {
				t.Fatal("a label became a <script> element")
			}
			for _, a := range el.Attr {
				if a.Name.Local == "id" {
					ids[a.Value] = true
				}
				if strings.HasPrefix(a.Name.Local, "on") {
					t.Errorf("event handler %s", a.Name.Local)
				}
			}
		case xml.CharData:
			text.Write(el)
		}
	}
	for _, want := range []string{"<script>alert(1)</script>", `"quotes"`, `&amp; \N`, "demo-poison: Deploy <script>"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("SVG text lacks %q", want)
		}
	}
	for _, id := range []string{"demo-goal", "demo-hostpid", "demo-note", "tree:demo", "legend:demo", "demo-goal--demo-hostpid"} {
		if !ids[id] {
			t.Errorf("SVG lacks element id %q", id)
		}
	}
}

// TestCatalogTreesRender renders every catalog tree twice, as the render command does.
func TestCatalogTreesRender(t *testing.T) {
	r, c := catalogResult(t)
	for _, tr := range c.Trees() {
		a, err := TreeSVG(context.Background(), c, r, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, err := TreeSVG(context.Background(), c, r, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two renders differ", tr.ID)
		}
		for _, n := range tr.Nodes {
			if !bytes.Contains(a, []byte(`<g id="`+strings.ReplaceAll(n.ID, "-", "&#45;")+`" class="node">`)) {
				t.Errorf("%s: node %s missing", tr.ID, n.ID)
			}
		}
	}
}

func TestTreeSVGCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := TreeSVG(ctx, loadCatalog(t, "testdata/small/trees"), nil, "demo"); err == nil {
		t.Fatal("a cancelled context did not stop the render before it started")
	}
}

func jsonUnmarshalStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// TestSARIFSchemaRejects shows the schema check can fail: a region on line 0 and an unknown
// property are rejected.
func TestSARIFSchemaRejects(t *testing.T) {
	comp := jsonschema.NewCompiler()
	comp.AssertFormat()
	schema, err := comp.Compile("testdata/sarif/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	good := string(render(t, "sarif", smallResult(), loadCatalog(t, "testdata/small/trees")))
	for name, bad := range map[string]string{
		"line 0":           regexp.MustCompile(`"startLine": [0-9]+`).ReplaceAllString(good, `"startLine": 0`),
		"unknown property": strings.Replace(good, `"ruleIndex": 0,`, `"ruleIndex": 0, "bogus": 1,`, 1),
		"wrong version":    strings.Replace(good, `"version": "2.1.0"`, `"version": "2.0.0"`, 1),
	} {
		if bad == good {
			t.Fatalf("%s: the edit did not apply", name)
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if schema.Validate(inst) == nil {
			t.Errorf("%s: invalid SARIF validated", name)
		}
	}
}

// TestSARIFFingerprintsStable: the fingerprints identify steps and statuses, not how the run
// was invoked: another spelling of the policy folder and another --max-paths give the same
// fingerprint for every rule and step.
func TestSARIFFingerprintsStable(t *testing.T) {
	fingerprints := func(cfg pipeline.Config) map[string]string {
		r, c, err := pipeline.Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		var log sarifLog
		if err := jsonUnmarshalStrict(render(t, "sarif", r, c), &log); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, res := range log.Runs[0].Results {
			out[res.PartialFingerprints[SARIFFingerprintKey]] = res.RuleID + " " + fmt.Sprint(res.Properties["nodes"])
		}
		return out
	}
	a := fingerprints(pipeline.Config{Policies: []string{"../examples/platform"}, MaxPaths: 3, Date: "2026-11-28"})
	b := fingerprints(pipeline.Config{Policies: []string{"./../examples/platform/"}, MaxPaths: 50, Date: "2026-11-28"})
	if len(a) == 0 {
		t.Fatal("no results")
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("fingerprints differ (-a +b):\n%s", diff)
	}
}
