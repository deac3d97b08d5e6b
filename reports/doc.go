// Package reports renders what threatcov computed: tree outlines, analysis reports in every
// output format (table, JSON, YAML, Markdown, SARIF, JUnit, HTML) and annotated SVG trees, laid
// out as the CNCF PDFs are and carrying the fonts their layout was measured with (fonts/).
//
// It reads results and never computes them: every figure comes from the analyzer's one result,
// so all formats agree. Output is deterministic: the same result gives byte-identical output.
package reports
