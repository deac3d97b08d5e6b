package policies

import (
	"context"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// TestCompileCapabilitiesSameResults compiles modules with the sandbox's capabilities and with
// compileCapabilities' narrowed set: the results and the compile errors must be the same.
func TestCompileCapabilitiesSameResults(t *testing.T) {
	for _, tc := range []struct{ name, src string }{
		{"calls", `package t
import future.keywords
# METADATA
# title: calls
violation contains msg if {
	some c in input.containers
	not strings.any_prefix_match(c.image, ["registry.example/"])
	every p in c.ports { p > 0 }
	print("checked", c.name)
	n := object.get(c, "name", "?")
	msg := sprintf("%s: %s (%v)", [n, c.image, rego.metadata.rule().title])
}
violation contains "mocked" if {
	time.parse_rfc3339_ns("2026-01-01T00:00:00Z") == 1 with time.parse_rfc3339_ns as mock
	count(input.containers) == 1 with count as mock
	[x | x := input.containers[_]; regex.match("^a", x.name)] != []
}
mock(_) := 1
`},
		{"unknown function", `package t
violation contains msg if { msg := strings.no_such_function(input.x) }
`},
		{"type error", `package t
violation contains msg if { msg := upper(1) }
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseRego("t.rego", tc.src, 0)
			if err != nil {
				t.Fatal(err)
			}
			mods := map[string]*ast.Module{"t.rego": m}
			caps := sandboxCapabilities()
			run := func(caps *ast.Capabilities) string {
				c := ast.NewCompiler().WithCapabilities(caps).WithEnablePrintStatements(true)
				c.Compile(mods)
				if c.Failed() {
					return "compile: " + strings.Join(astErrors(c.Errors), "; ")
				}
				input := map[string]any{"containers": []any{
					map[string]any{"name": "a", "image": "docker.io/x", "ports": []any{80}},
					map[string]any{"name": "b", "image": "registry.example/y"},
				}}
				rs, err := rego.New(rego.Compiler(c), rego.Query("x := data.t.violation"), rego.Input(input)).Eval(context.Background())
				if err != nil {
					return "eval: " + err.Error()
				}
				return strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(fmtResults(rs), "\n", " "), "\t", " "))
			}
			full, narrow := run(caps), run(compileCapabilities(caps, mods))
			if full != narrow {
				t.Errorf("full capabilities: %s\nnarrowed: %s", full, narrow)
			}
			if n := len(compileCapabilities(caps, mods).Builtins); n >= len(caps.Builtins) {
				t.Errorf("narrowed to %d built-ins of %d", n, len(caps.Builtins))
			}
			t.Log(full)
		})
	}
}

func fmtResults(rs rego.ResultSet) string {
	var b strings.Builder
	for _, r := range rs {
		for k, v := range r.Bindings {
			b.WriteString(k + "=")
			b.WriteString(ast.MustInterfaceToValue(v).String())
		}
	}
	return b.String()
}
