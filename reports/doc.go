// Package reports renders what threatcov computed: tree outlines, analysis reports in every
// output format (table, JSON, YAML, Markdown, SARIF, JUnit, HTML, ATT&CK Navigator layer),
// annotated SVG trees, laid out as the CNCF PDFs are and carrying the fonts their layout was
// measured with (fonts/), and the frameworks' views: the Threat Matrix grid and `frameworks list`.
//
// It reads results and never computes them: every figure comes from the analyzer's one result,
// so all formats agree. Output is deterministic: the same result gives byte-identical output.
package reports
