package reports

import (
	"embed"
	"encoding/base64"
	"fmt"
	"strings"
)

// The fonts the trees are drawn with (see fonts/README.md): graphviz measures "Helvetica" with
// Liberation Sans's advance widths, so the drawing declares subsets of Liberation Sans under
// that family name and the browser draws with the metrics the layout used.
//
//go:embed fonts/*.woff2
var fontFS embed.FS

// FontFile is one font the drawings use: a file name, the CSS family and weight it is declared
// under, the unicode-range it serves ("" for all) and its WOFF2 bytes.
type FontFile struct {
	Name, Family, Weight, UnicodeRange string
	Data                               []byte
}

// drawFont is the family graphviz is told to use and the SVG declares.
const drawFont = "Helvetica"

var fontFiles = loadFonts()

func loadFonts() []FontFile {
	specs := []FontFile{
		{Name: "tc-sans-regular.woff2", Family: drawFont, Weight: "normal"},
		{Name: "tc-sans-bold.woff2", Family: drawFont, Weight: "bold"},
		// The status glyphs, for both weights: Liberation Sans has none of them.
		{Name: "tc-glyphs.woff2", Family: drawFont, Weight: "normal", UnicodeRange: glyphRange},
		{Name: "tc-glyphs.woff2", Family: drawFont, Weight: "bold", UnicodeRange: glyphRange},
	}
	for i := range specs {
		data, err := fontFS.ReadFile("fonts/" + specs[i].Name)
		if err != nil {
			panic(err) // the embed pattern guarantees the files; failing here is a build mistake
		}
		specs[i].Data = data
	}
	return specs
}

// glyphRange is the code points of the status glyphs (✔ ☑ ◉ ✖ ✎ ⚠ ∅).
const glyphRange = "U+2205, U+25C9, U+2611, U+26A0, U+270E, U+2714, U+2716"

// Fonts returns the font files the SVG drawings are measured with, for a page that shows the
// drawings without their embedded style (see WithPageFonts) and serves the fonts itself.
func Fonts() []FontFile { return fontFiles }

// FontFaceCSS is the @font-face rules for the drawing fonts; url gives each file's address
// (a data: URL when the drawing stands alone).
func FontFaceCSS(url func(FontFile) string) string {
	var b strings.Builder
	for _, f := range fontFiles {
		fmt.Fprintf(&b, "@font-face{font-family:%q;font-weight:%s;font-style:normal;src:url(%s) format(\"woff2\")", f.Family, f.Weight, url(f))
		if f.UnicodeRange != "" {
			b.WriteString(";unicode-range:" + f.UnicodeRange)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// fontDataURL is a font file as a data: URL.
func fontDataURL(f FontFile) string {
	return "data:font/woff2;base64," + base64.StdEncoding.EncodeToString(f.Data)
}

// embeddedFontStyle is the <style> element a standalone drawing carries. Built once.
var embeddedFontStyle = "<style id=\"tc-fonts\">\n" + FontFaceCSS(fontDataURL) + "</style>\n"
