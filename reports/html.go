package reports

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/frameworks"
)

// writeHTML writes one self-contained page: summary, each tree with its SVG drawing inline and
// its goals, the open paths, recommendations and every step. No script, no external asset (the
// Content-Security-Policy forbids loading any), and html/template escapes every text; the SVGs
// are ours, with their labels escaped when drawn.
func writeHTML(w io.Writer, v *view) error {
	type treeSection struct {
		Tree analyzer.TreeResult
		SVG  template.HTML
		Note string // why there is no drawing
	}
	var trees []treeSection
	for _, t := range v.r.Trees {
		sec := treeSection{Tree: t}
		if v.c != nil {
			if _, ok := v.c.Tree(t.ID); ok {
				// Background: a page is rendered in full or not at all (see TreeSVG).
				// The page declares the drawing fonts once for every tree.
				svg, err := TreeSVG(context.Background(), v.c, v.r, t.ID, WithPageFonts())
				switch {
				case errors.Is(err, ErrTooLarge):
					sec.Note = err.Error()
				case err != nil:
					return err
				default:
					sec.SVG = template.HTML(inlineSVG(svg))
				}
			}
		}
		trees = append(trees, sec)
	}
	data := map[string]any{
		"R":           v.r,
		"Fonts":       template.CSS(FontFaceCSS(fontDataURL)),
		"Generated":   generated(v.r.GeneratedAt),
		"Trees":       trees,
		"OpenPaths":   v.openPaths(false),
		"Residual":    v.openPaths(true),
		"NotShown":    v.notShown(),
		"Unmapped":    v.unmapped(),
		"OutOfScope":  v.withStatus(analyzer.StatusOutOfScope),
		"StepCounts":  StepCounts(v.r.Summary),
		"Ceiling":     CeilingText(v.r.Summary.Paths),
		"PathsFigure": v.r.Summary.Paths.Coverage.Text("paths"),
		"GoalsFigure": v.r.Summary.Goals.Text("goals"),
		"StepsFigure": v.r.Summary.Steps.Text("addressable steps"),
		"Matrix":      FrameworkMatrix(v.r, frameworks.Get(frameworks.ThreatMatrix)),
	}
	funcs := template.FuncMap{
		"ratio": func(r any, what string) string {
			switch r := r.(type) {
			case analyzer.Ratio:
				return r.Text(what)
			case *analyzer.Ratio:
				return r.Text(what)
			}
			return (*analyzer.Ratio)(nil).Text(what)
		},
		"intStr":     analyzer.CountText,
		"pathLabels": func(p analyzer.Path) string { return v.pathLabels(p) },
		"label":      v.label,
		"status":     statusText,
		"join":       strings.Join,
		"closes":     func(s analyzer.Status) bool { return s.Closes() },
		"len":        func(p analyzer.Path) int { return len(p.Steps) },
		"stepCount":  func(s []string) int { return len(s) },
		"lines":      func(s []string) string { return strings.Join(s, "\n") },
	}
	tmpl, err := template.New("report").Funcs(funcs).Parse(htmlTemplate)
	if err != nil {
		return err
	}
	return tmpl.Execute(w, data)
}

func generated(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// inlineSVG drops the XML declaration, DOCTYPE and comments before the <svg> element, which
// have no place inside an HTML document.
func inlineSVG(svg []byte) []byte {
	if i := bytes.Index(svg, []byte("<svg")); i >= 0 {
		return svg[i:]
	}
	return svg
}

const htmlTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>threatcov: attack-path coverage report</title>
<style>
{{.Fonts}}body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f3f3f3; }
.open { color: #A33F00; font-weight: bold; }
.blocked { color: #00684B; font-weight: bold; }
.tree { overflow: auto; border: 1px solid #ddd; padding: 0.5rem; margin-bottom: 1rem; }
.tree svg { height: auto; }
nav ul { columns: 2; }
code { font-size: 0.9em; }
table.matrix td { width: 10%; font-size: 0.85em; }
.m-covered { background: #c7e9c0; }
.m-partial { background: #fff3b0; }
.m-uncovered { background: #ffc9c9; }
.m-out-of-scope { background: #e0e0e0; }
.m-unmapped { background: #fff; color: #666; }
</style>
</head>
<body>
<header>
<h1>Attack-path coverage report</h1>
<p>{{if .Generated}}Generated {{.Generated}} · {{end}}report schema <code>{{.R.SchemaVersion}}</code></p>
</header>
<section id="summary">
<h2>Summary</h2>
<table>
<tr><th>Path coverage (blocked / all paths)</th><td>{{.PathsFigure}}</td></tr>
<tr><th>Open paths</th><td>{{intStr .R.Summary.Paths.Open}}</td></tr>{{if .Ceiling}}
<tr><th>Path ceiling (paths policies can close)</th><td>{{.Ceiling}}</td></tr>{{end}}
<tr><th>Goal coverage (blocked / goals)</th><td>{{.GoalsFigure}}</td></tr>
<tr><th>Step coverage (blocked / addressable steps)</th><td>{{.StepsFigure}}</td></tr>
{{if .StepCounts}}<tr><th>Steps by status</th><td>{{.StepCounts}}</td></tr>{{end}}
<tr><th>Trees</th><td>{{join .R.Inputs.Trees ", "}}</td></tr>
<tr><th>Policies</th><td>{{if .R.Inputs.Policies}}{{join .R.Inputs.Policies ", "}}{{else}}none{{end}}</td></tr>
<tr><th>Mapping</th><td>{{join .R.Inputs.Mapping ", "}}</td></tr>
</table>
{{with .R.Warnings}}<h3>Warnings</h3><ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
</section>
<nav>
<h2>Trees</h2>
<ul>{{range .Trees}}<li><a href="#tree-section-{{.Tree.ID}}">{{.Tree.Title}}</a> ({{ratio .Tree.Figures.Paths.Coverage "paths"}} blocked)</li>{{end}}</ul>
</nav>
{{range .Trees}}
<section id="tree-section-{{.Tree.ID}}" class="tree-section">
<h2>{{.Tree.Title}}</h2>
<p>Path coverage {{ratio .Tree.Figures.Paths.Coverage "paths"}}, {{intStr .Tree.Figures.Paths.Open}} open; goal coverage {{ratio .Tree.Figures.Goals "goals"}}; step coverage {{ratio .Tree.Figures.Steps "addressable steps"}}.</p>
<table>
<tr><th>Goal</th><th>Status</th><th>Path coverage</th><th>Open paths</th></tr>
{{range .Tree.Goals}}<tr><td>{{.Label}} <code>{{.ID}}</code></td><td class="{{if closes .Status}}blocked{{else}}open{{end}}">{{.Status}}</td><td>{{ratio .Figures.Paths.Coverage "paths"}}</td><td>{{intStr .Figures.Paths.Open}}</td></tr>
{{end}}</table>
{{if .SVG}}<div class="tree">{{.SVG}}</div>{{end}}{{with .Note}}<p>No drawing: {{.}}</p>{{end}}
</section>
{{end}}
<section id="open-paths">
<h2>Open attack paths policies can close</h2>
{{template "paths" .OpenPaths}}
{{if .NotShown.Sign}}<p>{{.NotShown}} more open paths are not listed (raise <code>--max-paths</code> to list them).</p>{{end}}
</section>
<section id="residual">
<h2>Residual risk: open paths beyond admission policies</h2>
<p>No step of these paths is one a policy addresses: they need other controls or written attestations.</p>
{{template "paths" .Residual}}
</section>
{{with .R.BypassCauses}}<section id="bypass-causes">
<h2>Why bypassed steps are bypassed</h2>
<table>
<tr><th>Cause</th><th>Steps</th><th>Requests admitted</th><th>Policies</th><th>Fix</th></tr>
{{range .}}<tr><td>{{.Text}}</td><td>{{stepCount .Steps}}</td><td>{{.Requests}}</td><td>{{join .Policies ", "}}</td><td>{{.Fix}}</td></tr>
{{end}}</table>
</section>{{end}}
<section id="recommendations">
<h2>Recommendations</h2>
{{if .R.Recommendations}}<p>Each closes the open paths shown, given those ranked above it. <em>Simulated</em>: re-analysed with the change applied; <em>estimated</em>: assumed to close the steps it addresses.</p>
<table>
<tr><th>Rank</th><th>Change</th><th>Closes paths</th><th>How known</th><th>Or instead</th><th>Steps</th></tr>
{{range .R.Recommendations}}<tr><td>{{.Rank}}</td><td>{{.Change}}{{range .Why}}<br>for: {{.}}{{end}}</td><td>{{intStr .Closes}}{{if not .Exact}} (greedy){{end}}</td><td>{{.Established}}</td><td>{{range $i, $a := .Alternatives}}{{if $i}}<br>{{end}}{{$a}}{{end}}</td><td>{{range $i, $s := .Steps}}{{if $i}}; {{end}}{{label $s}}{{end}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}
</section>
{{with .Matrix}}<section id="threat-matrix">
<h2>{{.Name}}</h2>
<p>Each technique is coloured by the proven coverage of the steps that instantiate it: <span class="m-covered">every addressable step blocked (verified) or attested</span> ({{index .Counts "covered"}}), <span class="m-partial">some</span> ({{index .Counts "partial"}}), <span class="m-uncovered">none</span> ({{index .Counts "uncovered"}}), <span class="m-out-of-scope">every step out of scope</span> ({{index .Counts "out-of-scope"}}), <span class="m-unmapped">no step instantiates it</span> ({{index .Counts "unmapped"}}).</p>
<table class="matrix">
<tr>{{range .Columns}}<th>{{.Tactic}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}{{if .}}<td class="m-{{.Class}}"{{with .Steps}} title="{{lines .}}"{{end}}>{{.Name}} <code>{{.ID}}</code>{{with .Figure}}<br>{{.}}{{end}}</td>{{else}}<td></td>{{end}}{{end}}</tr>
{{end}}</table>
<p>{{.Name}}, version of {{.Version}}: {{.License}}.</p>
</section>{{end}}
<section id="steps">
<h2>Steps</h2>
<table>
<tr><th>Step</th><th>Tree</th><th>Techniques</th><th>Status</th><th>Blocking</th><th>Monitoring</th><th>Open paths</th><th>Explanation</th></tr>
{{range .R.Steps}}<tr><td>{{.Label}} <code>{{.Node}}</code></td><td>{{.Tree}}</td><td>{{join .Attack ", "}}{{if and .Attack .ThreatMatrix}}; {{end}}{{join .ThreatMatrix ", "}}</td><td class="{{if closes .Status}}blocked{{else}}open{{end}}">{{status .Status .Evidence}}</td><td>{{join .Blocking ", "}}</td><td>{{join .Monitoring ", "}}</td><td>{{intStr .OpenPaths}}</td><td>{{.Explanation}}</td></tr>
{{end}}</table>
</section>
<section id="unmapped">
<h2>Steps without a mapped policy</h2>
{{if .Unmapped}}<ul>{{range .Unmapped}}<li>{{.Label}} <code>{{.Node}}</code> ({{.Status}})</li>{{end}}</ul>{{else}}<p>Every addressable step has a mapped policy.</p>{{end}}
</section>
<section id="out-of-scope">
<h2>Out-of-scope steps</h2>
{{if .OutOfScope}}<ul>{{range .OutOfScope}}<li>{{.Label}} <code>{{.Node}}</code>{{if .Reason}}: {{.Reason}}{{end}}</li>{{end}}</ul>{{else}}<p>None.</p>{{end}}
</section>
</body>
</html>
{{define "paths"}}{{if .}}<table>
<tr><th>Steps</th><th>Goal</th><th>Path</th></tr>
{{range .}}<tr><td>{{len .Path}}</td><td>{{.Goal.Label}}</td><td>{{pathLabels .Path}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}{{end}}`
