package policies

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/open-policy-agent/opa/v1/ast"
)

// The package documentation lists the forbidden built-ins; keep the list and the variable in
// step, and make sure each name is a real built-in the capabilities really drop.
func TestForbiddenBuiltinsAreRealAndRemoved(t *testing.T) {
	documented := []string{
		"crypto.x509.parse_and_verify_certificates", "crypto.x509.parse_and_verify_certificates_with_options",
		"http.send", "io.jwt.decode_verify", "io.jwt.encode_sign", "io.jwt.encode_sign_raw",
		"json.match_schema", "json.verify_schema", "net.lookup_ip_addr", "opa.runtime",
		"rand.intn", "time.now_ns", "uuid.rfc4122",
	}
	var names []string
	for n := range ForbiddenBuiltins {
		names = append(names, n)
	}
	sort.Strings(names)
	if diff := cmp.Diff(documented, names); diff != "" {
		t.Errorf("ForbiddenBuiltins differs from the documented list (-doc +var):\n%s", diff)
	}
	all := map[string]bool{}
	for _, b := range ast.CapabilitiesForThisVersion().Builtins {
		all[b.Name] = true
	}
	for _, n := range names {
		if !all[n] {
			t.Errorf("%s is not a built-in of this OPA version", n)
		}
	}
	caps := sandboxCapabilities()
	kept := map[string]bool{}
	for _, b := range caps.Builtins {
		kept[b.Name] = true
	}
	for _, n := range names {
		if kept[n] {
			t.Errorf("%s is still in the sandbox capabilities", n)
		}
	}
	for _, n := range []string{"net.cidr_contains", "sprintf", "trace", "print", "strings.any_prefix_match"} {
		if !kept[n] {
			t.Errorf("%s was dropped but policies need it", n)
		}
	}
	if len(caps.AllowNet) != 0 || caps.AllowNet == nil {
		t.Errorf("AllowNet = %v, want an empty, non-nil list (no host allowed)", caps.AllowNet)
	}
}
