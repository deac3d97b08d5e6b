package policies

import (
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// namespaceBlind reports whether Rego modules cannot tell which namespace a probe was placed
// in, so that one evaluation of a probe serves every namespace whose input differs from it
// only in the namespace (docs/semantics.md, "Evaluations shared between namespaces"). The
// namespace reaches Rego only as the value of a "namespace" key (metadata.namespace,
// input.review.namespace) or of data.inventory's namespaced tree. The reading is
// conservative: the modules are blind when no string, key or reference in them mentions the
// namespace (mentionsNamespace) or the inventory, no built-in walks or serialises whole
// values, and nothing iterates over input, nor iterates over or takes whole a metadata
// object or the review.
func namespaceBlind(modules map[string]*ast.Module) bool {
	blind := true
	for _, m := range modules {
		ast.NewGenericVisitor(func(x any) bool {
			if !blind {
				return true
			}
			switch v := x.(type) {
			case ast.String:
				if mentionsNamespace(string(v)) || strings.Contains(strings.ToLower(string(v)), "inventory") {
					blind = false
				}
			case ast.Var:
				if mentionsNamespace(string(v)) {
					blind = false
				}
			case ast.Ref:
				if !refBlind(v) {
					blind = false
				}
			}
			return !blind
		}).Walk(m)
		if !blind {
			return false
		}
	}
	return blind
}

// mentionsNamespace reports whether s names the namespace key or a path to it: "namespace"
// in any case, not inside a longer identifier ("metadata.namespace", "Namespace", but not
// "host_namespaces" or "excludedNamespaces").
func mentionsNamespace(s string) bool {
	low := strings.ToLower(s)
	for i := 0; ; {
		j := strings.Index(low[i:], "namespace")
		if j < 0 {
			return false
		}
		j += i
		if j == 0 || !identChar(low[j-1]) {
			return true
		}
		i = j + 1
	}
}

func identChar(c byte) bool {
	return c == '_' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}

// wholeValueBuiltins see every key and value of their arguments.
var wholeValueBuiltins = map[string]bool{
	"walk": true, "json.marshal": true, "json.marshal_with_options": true, "yaml.marshal": true,
	"object.keys": true, "object.remove": true, "object.filter": true, "object.union": true,
	"object.union_n": true, "object.subset": true, "json.filter": true, "json.remove": true,
	"json.patch": true, "strings.render_template": true,
}

// refBlind reports whether one reference stays clear of the namespace: it is no whole-value
// built-in, and it neither iterates over nor ends at input, the review or a metadata object.
func refBlind(r ast.Ref) bool {
	if wholeValueBuiltins[r.String()] {
		return false
	}
	if len(r) == 0 {
		return true
	}
	holds := func(t *ast.Term) bool { // t names an object that holds a namespace key
		s, ok := t.Value.(ast.String)
		return ok && (s == "metadata" || s == "review")
	}
	if r[0].Value.Compare(ast.InputRootDocument.Value) == 0 && len(r) > 1 && !r[1].IsGround() {
		return false // input[x]
	}
	for i := 1; i < len(r); i++ {
		if !holds(r[i]) {
			continue
		}
		if i == len(r)-1 {
			return false // the whole metadata or review
		}
		if _, ok := r[i+1].Value.(ast.String); !ok {
			return false // metadata[x], review[x]
		}
	}
	return true
}
