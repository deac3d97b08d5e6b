package adtool

import (
	"io"
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
	xmltreetest.FuzzNamesFile(f, Import, name)
}

// TestHostileXML: entity expansion and external entities are refused before anything is
// read from them, and a file over MaxSize is refused without reading past the limit.
func TestHostileXML(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"billion laughs", `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<adtree><node><label>&lol3;</label></node></adtree>`,
			"b.xml:6: DTD or entity declaration refused: remove the <!DOCTYPE...> directive (threatcov does not expand XML entities)"},
		{"external entity", "<?xml version=\"1.0\"?>\n<!DOCTYPE adtree [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<adtree><node><label>&xxe;</label></node></adtree>",
			"b.xml:2: DTD or entity declaration refused: remove the <!DOCTYPE...> directive (threatcov does not expand XML entities)"},
		{"parameter entity", "<!DOCTYPE adtree [<!ENTITY % p SYSTEM \"http://127.0.0.1:1/x.dtd\"> %p;]>\n<adtree/>",
			"b.xml:1: DTD or entity declaration refused: remove the <!DOCTYPE...> directive (threatcov does not expand XML entities)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Import(strings.NewReader(tt.doc), "b.xml")
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
		})
	}
	t.Run("over MaxSize", func(t *testing.T) {
		big := io.MultiReader(strings.NewReader("<adtree><!--"), io.LimitReader(zeros{}, MaxSize), strings.NewReader("--></adtree>"))
		_, err := Import(big, "b.xml")
		if want := "b.xml: file is larger than 64 MiB: split the tree or raise adtool.MaxSize"; err == nil || err.Error() != want {
			t.Fatalf("error %v, want %s", err, want)
		}
	})
}

// zeros reads as an endless run of 'x'.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}
