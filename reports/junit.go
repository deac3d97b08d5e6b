package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/threatcov/threatcov/analyzer"
)

// JUnit XML as CI systems read it (the Jenkins/Ant dialect GitLab and GitHub actions parse):
// <testsuites> of one <testsuite> per tree, one <testcase> per goal; an open goal is a failure
// whose message counts its open paths and whose body lists them. No timestamps, so output is
// deterministic.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Properties *junitPropsList `xml:"properties,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitPropsList struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",cdata"`
}

func writeJUnit(w io.Writer, v *view) error {
	doc := junitSuites{Name: "threatcov"}
	for _, t := range v.r.Trees {
		s := junitSuite{
			Name: t.ID,
			Properties: &junitPropsList{Props: []junitProp{
				{Name: "title", Value: t.Title},
				{Name: "path-coverage", Value: t.Figures.Paths.Coverage.Text("paths")},
				{Name: "goal-coverage", Value: t.Figures.Goals.Text("goals")},
			}},
		}
		for _, g := range t.Goals {
			c := junitCase{Name: fmt.Sprintf("%s (%s)", oneLine(g.Label), g.ID), Classname: t.ID,
				SystemOut: fmt.Sprintf("status %s; path coverage %s; open paths %s", g.Status, g.Figures.Paths.Coverage.Text("paths"), analyzer.CountText(g.Figures.Paths.Open))}
			if !g.Status.Closes() {
				var body strings.Builder
				for i, p := range g.OpenPaths {
					fmt.Fprintf(&body, "%d. %s\n", i+1, oneLine(v.pathLabels(p)))
				}
				if g.NotShown != nil && g.NotShown.Sign() > 0 {
					fmt.Fprintf(&body, "... and %s more open paths not listed\n", g.NotShown)
				}
				// The message carries the shortest paths too: many CI views show only the message.
				shown := make([]string, 0, 3)
				for _, p := range g.OpenPaths[:min(3, len(g.OpenPaths))] {
					shown = append(shown, oneLine(v.pathLabels(p)))
				}
				msg := fmt.Sprintf("goal %q is reachable: %s open attack paths", oneLine(g.Label), analyzer.CountText(g.Figures.Paths.Open))
				if len(shown) > 0 {
					msg += ": " + strings.Join(shown, "; ")
					if len(g.OpenPaths) > len(shown) || (g.NotShown != nil && g.NotShown.Sign() > 0) {
						msg += "; ..."
					}
				}
				c.Failure = &junitFailure{
					Message: msg,
					Type:    "open-goal",
					Body:    body.String(),
				}
				s.Failures++
			}
			s.Tests++
			s.Cases = append(s.Cases, c)
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Suites = append(doc.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
