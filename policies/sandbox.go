package policies

import (
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ForbiddenBuiltins are the OPA built-ins a policy may not call, and why. Policies are
// untrusted code: they must not reach the network, read the environment, or give answers that
// change from run to run. A module calling one of these is rejected at compile time; the
// capabilities handed to the compiler omit them as well, so nothing slips through.
var ForbiddenBuiltins = map[string]string{
	"http.send":              "network access",
	"net.lookup_ip_addr":     "network access: DNS lookup",
	"opa.runtime":            "reads the environment and runtime configuration",
	"time.now_ns":            "non-deterministic: reads the wall clock",
	"rand.intn":              "non-deterministic: random",
	"uuid.rfc4122":           "non-deterministic: random",
	"io.jwt.decode_verify":   "non-deterministic: checks expiry against the wall clock",
	"io.jwt.encode_sign":     "non-deterministic: randomised signatures",
	"io.jwt.encode_sign_raw": "non-deterministic: randomised signatures",
	"crypto.x509.parse_and_verify_certificates":              "non-deterministic: checks validity against the wall clock",
	"crypto.x509.parse_and_verify_certificates_with_options": "non-deterministic: checks validity against the wall clock",
	"json.match_schema":  "may fetch remote $ref schemas",
	"json.verify_schema": "may fetch remote $ref schemas",
}

// sandboxCapabilities are this OPA version's capabilities minus ForbiddenBuiltins, with no
// network hosts allowed.
func sandboxCapabilities() *ast.Capabilities {
	caps := ast.CapabilitiesForThisVersion()
	kept := caps.Builtins[:0:0]
	for _, b := range caps.Builtins {
		if _, bad := ForbiddenBuiltins[b.Name]; !bad {
			kept = append(kept, b)
		}
	}
	caps.Builtins = kept
	caps.AllowNet = []string{}
	return caps
}

// compileCapabilities narrows caps to the built-ins a policy compiled alone can reach: those
// with undotted names (operators, and functions such as count or sprintf), the internal.* and
// rego.* ones the compiler rewrites calls into, and every dotted one that some reference in
// modules spells. A compiler builds a type environment of all its built-ins and keeps it for
// evaluation (with-replacement looks functions up in it); with one compiler per Gatekeeper
// template, that was about 40% of the memory each compiled template kept. A built-in no
// reference names cannot be called, so the verdicts and the errors are the same.
func compileCapabilities(caps *ast.Capabilities, modules map[string]*ast.Module) *ast.Capabilities {
	named := map[string]bool{}
	for _, m := range modules {
		ast.WalkRefs(m, func(r ast.Ref) bool {
			named[r.String()] = true
			return false
		})
	}
	out := *caps
	out.Builtins = make([]*ast.Builtin, 0, len(caps.Builtins))
	for _, b := range caps.Builtins {
		if !strings.Contains(b.Name, ".") || strings.HasPrefix(b.Name, "internal.") || strings.HasPrefix(b.Name, "rego.") || named[b.Name] {
			out.Builtins = append(out.Builtins, b)
		}
	}
	return &out
}

// forbiddenCalls finds calls to ForbiddenBuiltins, with OPA's locations, sorted.
func forbiddenCalls(modules map[string]*ast.Module) []string {
	var out []string
	check := func(op ast.Ref, loc *ast.Location) {
		name := op.String()
		reason, bad := ForbiddenBuiltins[name]
		if !bad {
			return
		}
		where := ""
		if loc != nil {
			where = fmt.Sprintf("%s:%d: ", loc.File, loc.Row)
		}
		out = append(out, fmt.Sprintf("%spolicy calls %s, which threatcov's sandbox forbids (%s); remove the call or leave this policy out of --policies", where, name, reason))
	}
	for _, m := range modules {
		ast.WalkExprs(m, func(e *ast.Expr) bool {
			if e.IsCall() {
				check(e.Operator(), e.Location)
			}
			for _, w := range e.With {
				if r, ok := w.Target.Value.(ast.Ref); ok {
					check(r, w.Location)
				}
			}
			return false
		})
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if c, ok := t.Value.(ast.Call); ok && len(c) > 0 {
				if r, ok := c[0].Value.(ast.Ref); ok {
					check(r, t.Location)
				}
			}
			return false
		})
	}
	sort.Strings(out)
	return dedupe(out)
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}
