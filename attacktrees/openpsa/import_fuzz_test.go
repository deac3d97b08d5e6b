package openpsa

import (
	"strings"
	"testing"

	"github.com/threatcov/threatcov/internal/xmltreetest"
)

// FuzzImportNamesFile starts from hostile XML (entity bombs, external entities, DTDs, deep
// nesting, junk) besides the real models, and holds every refusal to one shape: an
// *attacktrees.Error naming the file, saying something, printed file first. FuzzImport checks
// that whatever imports also loads as a tree.
func FuzzImportNamesFile(f *testing.F) {
	xmltreetest.SeedTestdata(f)
	for _, s := range []string{
		`<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><opsa-mef><define-fault-tree name="&lol2;"/></opsa-mef>`,
		`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><opsa-mef><define-fault-tree name="&xxe;"/></opsa-mef>`,
		`<opsa-mef><define-fault-tree name="&amp;&lt;&#x41;"><define-gate name="g"><or><basic-event name="a"/><basic-event name="b"/></or></define-gate></define-fault-tree></opsa-mef>`,
		`<opsa-mef><define-fault-tree name="t"><define-gate name="g"><and>` + strings.Repeat("<or>", 600) + `<basic-event name="a"/>` + strings.Repeat("</or>", 600) + `</and></define-gate></define-fault-tree></opsa-mef>`,
		`<opsa-mef><define-fault-tree name="t"><define-gate name="g"><gate name="h"/></define-gate><define-gate name="h"><gate name="g"/></define-gate></define-fault-tree></opsa-mef>`,
		"\x00\x01\x02<opsa-mef>",
		"",
	} {
		f.Add([]byte(s))
	}
	const name = "fuzz/model.xml"
	xmltreetest.FuzzNamesFile(f, Import, name)
}

// TestHostileXML: external and parameter entities are refused like internal ones (TestErrors
// covers the billion laughs, TestSizeLimit the size limit): nothing is fetched or expanded.
func TestHostileXML(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"external entity", "<?xml version=\"1.0\"?>\n<!DOCTYPE opsa-mef [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<opsa-mef><define-fault-tree name=\"&xxe;\"/></opsa-mef>",
			"m.xml:2: DTD or entity declaration refused: remove the <!DOCTYPE...> directive (threatcov does not expand XML entities)"},
		{"parameter entity", "<!DOCTYPE opsa-mef [<!ENTITY % p SYSTEM \"http://127.0.0.1:1/x.dtd\"> %p;]>\n<opsa-mef/>",
			"m.xml:1: DTD or entity declaration refused: remove the <!DOCTYPE...> directive (threatcov does not expand XML entities)"},
		{"entity declaration without DOCTYPE", "<opsa-mef>\n<!ENTITY x \"y\">\n</opsa-mef>",
			"m.xml:2: DTD or entity declaration refused: remove the <!ENTITY...> directive (threatcov does not expand XML entities)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Import(strings.NewReader(tt.doc), "m.xml")
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
		})
	}
}
