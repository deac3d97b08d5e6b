package adtool

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/attacktrees"
)

// FuzzImportNamesFile starts from hostile XML (entity bombs, external entities, DTDs, deep
// nesting, junk) besides the real models, and holds every refusal to one shape: an
// *attacktrees.Error naming the file, saying something, printed file first. FuzzImport checks
// that whatever imports also loads as a tree.
func FuzzImportNamesFile(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.xml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><adtree><node refinement="disjunctive"><label>&lol2;</label></node></adtree>`,
		`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><adtree><node><label>&xxe;</label></node></adtree>`,
		`<adtree><node refinement="conjunctive"><label>a &amp; b</label><node><label>a</label></node><node switchRole="yes"><label>defence</label></node></node></adtree>`,
		`<adtree>` + strings.Repeat(`<node refinement="disjunctive"><label>x</label>`, 2000) + strings.Repeat("</node>", 2000) + `</adtree>`,
		`<adtree><node refinement="sequential"><label>s</label><node refinement="bogus"><label>b</label></node></node></adtree>`,
		"\x00\x01\x02<adtree>",
		"",
	} {
		f.Add([]byte(s))
	}
	const name = "fuzz/tree.xml"
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Import(bytes.NewReader(data), name)
		if err == nil {
			return
		}
		var e *attacktrees.Error
		if !errors.As(err, &e) {
			t.Fatalf("error is a %T, want *attacktrees.Error: %v", err, err)
		}
		if e.File != name || strings.TrimSpace(e.Msg) == "" || !strings.HasPrefix(err.Error(), name) {
			t.Fatalf("error %q does not name %s first or says nothing", err, name)
		}
	})
}
