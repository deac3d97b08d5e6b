package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"

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
	cases := []reportCase{{"catalog", catalog, cat}}
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
				if fp == "" || ids[res.GUID] {
					t.Errorf("result %+v: missing fingerprint or duplicate guid", res)
				}
				ids[res.GUID] = true
				rule := log.Runs[0].Tool.Driver.Rules[res.RuleIndex]
				if rule.ID != res.RuleID {
					t.Errorf("ruleIndex %d names %s, result says %s", res.RuleIndex, rule.ID, res.RuleID)
				}
			}
			for _, rule := range log.Runs[0].Tool.Driver.Rules {
				if _, ok := rule.Properties["security-severity"].(string); !ok {
					t.Errorf("rule %s lacks security-severity", rule.ID)
				}
			}
		})
	}
}

// TestSARIFLocations pins where results point: the goal's line in its tree file.
func TestSARIFLocations(t *testing.T) {
	r, c := smallResult(), loadCatalog(t, "testdata/small/trees")
	var log sarifLog
	if err := jsonUnmarshalStrict(render(t, "sarif", r, c), &log); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, res := range log.Runs[0].Results {
		loc := res.Locations[0].PhysicalLocation
		got[res.RuleID] = fmt.Sprintf("%s:%d", loc.ArtifactLocation.URI, loc.Region.StartLine)
	}
	want := map[string]string{
		"threatcov/open-goal/demo-goal":  "testdata/small/trees/demo.yaml:5",
		"threatcov/open-goal/other-goal": "testdata/small/trees/other.yaml:4",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s points at %q, want %q", k, got[k], v)
		}
	}
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
		"line 0":           strings.Replace(good, `"startLine": 5`, `"startLine": 0`, 1),
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
