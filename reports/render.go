package reports

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
)

// Formats are the report formats Render writes, in the order the CLI lists them.
var Formats = []string{"table", "json", "yaml", "markdown", "sarif", "junit", "html", "navigator"}

// ErrUnknownFormat is returned by Render for a format not in Formats.
var ErrUnknownFormat = errors.New("unknown report format")

// Render writes the analysis result r in one format (see Formats). c is the catalog r was
// computed on: it gives labels, the tree drawings of the HTML report and the file:line of each
// goal in SARIF. Output depends on r and c only, so the same result gives byte-identical output;
// the one time it contains is r.GeneratedAt.
func Render(w io.Writer, format string, r *analyzer.Result, c *attacktrees.Catalog) error {
	if r == nil {
		return errors.New("render report: no analysis result")
	}
	v := newView(r, c)
	switch format {
	case "table":
		return writeTable(w, v)
	case "json":
		return WriteJSON(w, r)
	case "yaml":
		return writeYAML(w, r)
	case "markdown":
		return writeMarkdown(w, v)
	case "sarif":
		return writeSARIF(w, v)
	case "junit":
		return writeJUnit(w, v)
	case "html":
		return writeHTML(w, v)
	case "navigator":
		return WriteNavigatorLayer(w, r)
	}
	return fmt.Errorf("%w %q: use one of %s", ErrUnknownFormat, format, strings.Join(Formats, ", "))
}
