// Package serve is `threatcov serve`: a local, read-only web site over one analysis result. It
// shows an index of the trees and goals with their coverage figures, a page per tree with the
// annotated SVG drawing, a side panel per node (status, policies, probe verdicts, the open paths
// through it), a search over node labels, refs, ids and the policies steps name, a view that
// highlights one open path at a time, one goal's sub-tree drawn alone for trees with many
// goals, a policy view (policies x steps: which blocks, which is bypassed where), and the JSON,
// SARIF, Markdown and HTML reports of the same analysis to download. With
// Options.Watch it re-analyses when a watched file changes and pushes the new version to open
// pages (Server-Sent Events).
//
// It owns the HTTP surface only. It must not compute an analysis (Options.Analyze is injected),
// render a report format or a drawing itself (reports does), or read any file to answer a
// request: pages are rendered from the result in memory and assets come from an embed.FS (the
// drawing fonts from reports.Fonts, declared in style.css, since the CSP refuses the drawing's
// own inline font style).
//
// Security: GET and HEAD only (anything else is 405); unknown paths 404; any path with a "."
// or ".." segment, a backslash or a NUL, raw or percent-encoded, is refused with 400 before
// routing. Every response carries a strict Content-Security-Policy (no inline script or style,
// default-src 'self', frame-ancestors 'none'), nosniff and no-referrer. Labels reach HTML only
// through html/template. When the server listens on loopback it also refuses requests whose
// Host is not a loopback name, so a web page on another origin cannot read the result through
// DNS rebinding.
//
// Cost: each page, drawing and report is rendered once per analysis and then served from
// memory, so a burst of requests costs one render per page (a goal's sub-tree is cached per
// goal of the tree, so at most one per goal). A tree page is O(nodes × (nodes + edges) + listed
// paths × nodes) to build for that tree. Search and the policy view are rendered per request:
// O(nodes + steps × verdicts).
package serve
