package reports

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/threatcov/threatcov/frameworks"
)

func navigatorSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	comp := jsonschema.NewCompiler()
	comp.AssertFormat()
	schema, err := comp.Compile("testdata/navigator/layer-4.5.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return schema
}

// TestNavigatorLayer validates the layers of the fixtures and of a real analysis of the catalog
// (the default mapping's techniques) against the layer format 4.5 schema, and checks what the
// schema cannot: every technique is a real one of the embedded ATT&CK version, scores lie in
// the gradient, and a technique's score is its proven coverage.
func TestNavigatorLayer(t *testing.T) {
	schema := navigatorSchema(t)
	catalog, cat := catalogResult(t)
	cases := append([]reportCase{{"catalog", catalog, cat}}, reportCases(t)...)
	attack := frameworks.Get(frameworks.ATTACK)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := render(t, "navigator", tc.result, tc.catalog)
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(inst); err != nil {
				t.Fatalf("layer does not validate against the layer format 4.5 schema: %#v", err)
			}
			var layer navLayer
			if err := jsonUnmarshalStrict(out, &layer); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, te := range layer.Techniques {
				if err := attack.Check(te.TechniqueID); err != nil {
					t.Error(err)
				}
				if seen[te.TechniqueID] {
					t.Errorf("%s listed twice", te.TechniqueID)
				}
				seen[te.TechniqueID] = true
				if te.Score != nil && (*te.Score < layer.Gradient.MinValue || *te.Score > layer.Gradient.MaxValue) {
					t.Errorf("%s: score %v outside the gradient", te.TechniqueID, *te.Score)
				}
				if te.Score == nil && te.Color == "" {
					t.Errorf("%s: neither scored nor coloured", te.TechniqueID)
				}
			}
			if tc.name == "catalog" {
				// No policies: nothing is proven, so no technique may score above 0.
				for _, te := range layer.Techniques {
					if te.Score != nil && *te.Score != 0 {
						t.Errorf("%s scores %v with no policy deployed", te.TechniqueID, *te.Score)
					}
				}
				if len(layer.Techniques) < 30 {
					t.Errorf("only %d techniques in the catalog's layer", len(layer.Techniques))
				}
				t.Logf("%d ATT&CK techniques in the default mapping's layer", len(layer.Techniques))
			}
		})
	}
}

// The schema is no rubber stamp: layers that break the format are rejected.
func TestNavigatorSchemaRejects(t *testing.T) {
	schema := navigatorSchema(t)
	good := string(render(t, "navigator", smallResult(), nil))
	for name, bad := range map[string]string{
		"score as text":     strings.Replace(good, `"score": 50,`, `"score": "50",`, 1),
		"layer version 4.4": strings.Replace(good, `"layer": "4.5"`, `"layer": "4.4"`, 1),
		"no name":           strings.Replace(good, `"name": "threatcov: proven admission coverage",`, ``, 1),
		"unknown domain":    strings.Replace(good, `"enterprise-attack"`, `"containers-attack"`, 1),
		"bad technique id":  strings.Replace(good, `"techniqueID": "T1525"`, `"techniqueID": "MS-TA9002"`, 1),
		"misspelt field":    strings.Replace(good, `"techniqueID": "T1525"`, `"techniqueId": "T1525"`, 1),
		"bad colour":        strings.Replace(good, `"#bdbdbd"`, `"grey"`, 1),
	} {
		if bad == good {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if schema.Validate(inst) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A layer is the same bytes for the same result, and lists techniques in id order.
func TestNavigatorLayerDeterministic(t *testing.T) {
	r, c := catalogResult(t)
	a, b := render(t, "navigator", r, c), render(t, "navigator", r, c)
	if !bytes.Equal(a, b) {
		t.Fatal("two renders differ")
	}
	var layer struct {
		Techniques []struct{ TechniqueID string } `json:"techniques"`
	}
	if err := json.Unmarshal(a, &layer); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(layer.Techniques); i++ {
		if layer.Techniques[i-1].TechniqueID >= layer.Techniques[i].TechniqueID {
			t.Errorf("techniques out of order at %d", i)
		}
	}
}
