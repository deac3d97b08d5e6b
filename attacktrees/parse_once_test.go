package attacktrees

import (
	"reflect"
	"testing"
)

// FuzzParseValidMatchesStrict: whenever the one-parse path accepts a file, the strict path
// decodes the same tree from it with no error, so Parse's result (and every error message) is
// what it was when every file was parsed twice.
func FuzzParseValidMatchesStrict(f *testing.F) {
	addCatalogSeeds(f)
	for _, s := range []string{
		okTree,
		"",
		"---\n",
		"id: t\ntitle: T\nnodes: []\n---\n",
		"id: t\ntitle: T\nnodes: []\n---\nid: u\n",
		"id: t\ntitle: T\nextra: 1\nnodes: []\n",
		"id: t\ntitle: T\nnodes: [{id: g, kind: goal, colour: red}]\n",
		"id: t\nid: u\ntitle: T\nnodes: []\n",
		"id: t\ntitle: T\nnodes: [{id: g, id: h, kind: goal}]\n",
		"id: t\ntitle: T\nnodes: [&a {id: g, kind: goal, label: G}, *a]\n",
		"base: &b {kind: step}\nid: t\ntitle: T\nnodes: []\n",
		"id: t\ntitle: T\nnodes: [{<<: {kind: step}, id: a, label: A}]\n",
		"id: t\ntitle: T\nnodes: [{!!binary aWQ=: a, kind: step}]\n",
		"? [id]\n: t\ntitle: T\n",
		"1: t\ntitle: T\nnodes: []\n",
		"id: t\ntitle: T\nnodes: {id: g}\n",
		"id: t\ntitle: T\nnodes: [{id: g, kind: goal, k: x, children: {a: b}}]\n",
		"id: [t]\ntitle: T\nnodes: [~, {}, 3]\n",
		"id: t\ntitle: !!str T\nnodes: [{id: !!int 3, tbc: yes, page: 0x10}]\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nid: *b\n",
		"- [[[]]]\n",
		"id: t\ntitle: T\nnodes:\n- id: g\n  kind: goal\n  label: G\n  children: [a]\n- {id: a, kind: step, label: A}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, fastRoot := parseValid(data)
		if fast == nil {
			return
		}
		var errs errorList
		strict, strictRoot, err := parseStrict(data, "f.yaml", &errs)
		if err != nil || len(errs.errs) > 0 {
			t.Fatalf("parseValid accepted what parseStrict rejects: %v %v", err, errs.errs)
		}
		if !reflect.DeepEqual(fast, strict) {
			t.Fatalf("trees differ:\nfast   %+v\nstrict %+v", fast, strict)
		}
		locate(fast, fastRoot)
		locate(strict, strictRoot)
		if !reflect.DeepEqual(fast, strict) {
			t.Fatalf("located trees differ:\nfast   %+v\nstrict %+v", fast, strict)
		}
	})
}
