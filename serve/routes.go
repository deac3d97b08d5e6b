package serve

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/threatcov/threatcov/reports"
)

// contentSecurityPolicy allows only this origin's own files: no inline script, no inline style
// (the drawing's colours are SVG presentation attributes, which CSP does not govern), no
// plugins, no framing, forms and event streams to this origin only.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// reportFile is one downloadable report of the analysis.
type reportFile struct {
	name, format, contentType, title string
}

var reportFiles = []reportFile{
	{"threatcov-report.json", "json", "application/json", "JSON"},
	{"threatcov-report.sarif", "sarif", "application/sarif+json", "SARIF"},
	{"threatcov-report.md", "markdown", "text/markdown; charset=utf-8", "Markdown"},
	{"threatcov-report.html", "html", "text/html; charset=utf-8", "HTML"},
	{"threatcov-layer.json", "navigator", "application/json", "ATT&CK Navigator layer"},
}

// maxStreams bounds the open live-update streams; each holds a goroutine and a connection.
const maxStreams = 64

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.serveIndex)
	mux.HandleFunc("GET /tree/{id}", s.serveTree)
	mux.HandleFunc("GET /search", s.serveSearch)
	mux.HandleFunc("GET /policies", s.servePolicies)
	mux.HandleFunc("GET /reports/{name}", s.serveReport)
	mux.HandleFunc("GET /assets/{name}", serveAsset)
	mux.HandleFunc("GET /events", s.serveEvents)
	mux.HandleFunc("/", http.NotFound) // so no other method or path gets the mux's redirects
	return s.guard(mux)
}

// guard applies what holds for every request: security headers, read-only methods, a sane
// path and, on loopback, a loopback Host.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed: threatcov serve is read-only", http.StatusMethodNotAllowed)
			return
		}
		if !cleanPath(r) {
			http.Error(w, "400 bad request: path refused", http.StatusBadRequest)
			return
		}
		if s.loopback && !loopbackHost(r.Host) {
			http.Error(w, "403 forbidden: this server answers only to localhost, 127.0.0.1 or [::1]", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cleanPath refuses a path that could name something outside the routes: "." or ".."
// segments, backslashes, NULs or empty segments, whether written raw or percent-encoded
// (r.URL.Path is already decoded; RawPath/RequestURI are checked for encoded slashes).
func cleanPath(r *http.Request) bool {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
		return false
	}
	for i, seg := range strings.Split(p[1:], "/") {
		last := i == strings.Count(p[1:], "/")
		if seg == "." || seg == ".." || (seg == "" && !last) {
			return false
		}
	}
	raw := strings.ToLower(r.URL.RawPath)
	return !strings.Contains(raw, "%2f") && !strings.Contains(raw, "%5c")
}

// loopbackHost reports whether a Host header names this machine by a loopback name.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return isLoopback(host)
}

// serveCached writes a page or file rendered once per analysis, gzipped when the client
// accepts it (tree pages compress about 20 to 1), answering conditional requests with 304.
// gz gives the compressed body; each encoding has its own ETag, as HTTP asks.
func serveCached(w http.ResponseWriter, r *http.Request, etag, contentType string, body []byte, gz func() []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache") // revalidate: the analysis can change under --watch
	h.Set("Vary", "Accept-Encoding")
	if gz != nil && len(body) >= minGzip && acceptsGzip(r) {
		body = gz()
		etag = strings.TrimSuffix(etag, `"`) + `-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// minGzip is the size below which compressing is not worth a round of gzip.
const minGzip = 1024

// acceptsGzip reports whether the request's Accept-Encoding allows gzip (and does not give it
// q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

func gzipBytes(body []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(body) // writes to a bytes.Buffer cannot fail
	_ = zw.Close()
	return buf.Bytes()
}

func etagMatch(header, etag string) bool {
	for _, m := range strings.Split(header, ",") {
		m = strings.TrimPrefix(strings.TrimSpace(m), "W/")
		if m == etag || m == "*" {
			return true
		}
	}
	return false
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	snap := s.snap.Load()
	body, err := snap.index.get(func() ([]byte, error) { return s.pages.index(snap) })
	if err != nil {
		s.internalError(w, "render index", err)
		return
	}
	serveCached(w, r, snap.etag, "text/html; charset=utf-8", body, snap.index.gzipped)
}

func (s *Server) serveTree(w http.ResponseWriter, r *http.Request) {
	snap := s.snap.Load()
	id := r.PathValue("id")
	page, ok := snap.trees[id]
	if !ok {
		http.NotFound(w, r)
		return
	}
	// ?goal= draws one goal's sub-tree (see reports.WithGoals), for trees with many goals.
	goal := r.URL.Query().Get("goal")
	if goal != "" {
		if !isGoalOf(snap, id, goal) {
			http.Error(w, "404 not found: no goal "+strconv.Quote(goal)+" in this tree", http.StatusNotFound)
			return
		}
		page = snap.focused("page " + id + " " + goal)
	}
	body, err := page.get(func() ([]byte, error) {
		svg, svgErr := s.drawing(r.Context(), snap, id, goal)
		return s.pages.tree(snap, id, goal, svg, svgErr)
	})
	if err != nil {
		s.internalError(w, "render tree "+id, err)
		return
	}
	serveCached(w, r, snap.etag, "text/html; charset=utf-8", body, page.gzipped)
}

func isGoalOf(snap *snapshot, tree, goal string) bool {
	for _, g := range snap.catalog.Goals(tree) {
		if g.ID == goal {
			return true
		}
	}
	return false
}

// drawing is a tree's annotated SVG (one goal's sub-tree when goal is set), rendered once per
// analysis, made fit to sit inside HTML.
func (s *Server) drawing(ctx context.Context, snap *snapshot, id, goal string) ([]byte, error) {
	l := snap.svgs[id]
	// style.css declares the drawing's fonts (served from /assets), so the drawing leaves out
	// its own font style, an inline style the CSP would refuse.
	opts := []reports.SVGOption{reports.WithPageFonts()}
	if goal != "" {
		l = snap.focused("svg " + id + " " + goal)
		opts = append(opts, reports.WithGoals(goal))
	}
	return l.get(func() ([]byte, error) {
		// The render belongs to the analysis, not to the request that happened to ask first:
		// a closed tab must not leave an error cached for everyone else.
		ctx = context.WithoutCancel(ctx)
		svg, err := reports.TreeSVG(ctx, snap.catalog, snap.result, id, opts...)
		if err != nil {
			return nil, err
		}
		return inlineSVG(svg)
	})
}

// inlineSVG drops what precedes the <svg> element (XML declaration, DOCTYPE, comments), which
// has no place inside an HTML document.
func inlineSVG(svg []byte) ([]byte, error) {
	i := bytes.Index(svg, []byte("<svg"))
	if i < 0 {
		return nil, fmt.Errorf("drawing has no <svg> element")
	}
	return svg[i:], nil
}

func (s *Server) serveSearch(w http.ResponseWriter, r *http.Request) {
	s.serveQuery(w, r, "search", s.pages.search)
}

// servePolicies is the policy view, filtered by ?q= (rendered per request, like search).
func (s *Server) servePolicies(w http.ResponseWriter, r *http.Request) {
	s.serveQuery(w, r, "policies", s.pages.policies)
}

// serveQuery renders a page for the ?q= of the request (cut to maxQuery bytes) on the current
// analysis, per request and uncached.
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, page string, render func(*snapshot, string) ([]byte, error)) {
	snap := s.snap.Load()
	q := r.URL.Query().Get("q")
	if len(q) > maxQuery {
		q = strings.ToValidUTF8(q[:maxQuery], "") // the cut may split a character
	}
	body, err := render(snap, q)
	if err != nil {
		s.internalError(w, "render "+page, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

func (s *Server) serveReport(w http.ResponseWriter, r *http.Request) {
	snap := s.snap.Load()
	name := r.PathValue("name")
	for _, f := range reportFiles {
		if f.name != name {
			continue
		}
		report := snap.reports[f.format]
		body, err := report.get(func() ([]byte, error) {
			var buf bytes.Buffer
			if err := reports.Render(&buf, f.format, snap.result, snap.catalog); err != nil {
				return nil, err
			}
			return buf.Bytes(), nil
		})
		if err != nil {
			s.internalError(w, "render "+f.format+" report", err)
			return
		}
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", f.name))
		serveCached(w, r, snap.etag, f.contentType, body, report.gzipped)
		return
	}
	http.NotFound(w, r)
}

// serveEvents is the live-update stream: it sends the current version at once and each new
// one as it is published. Pages compare it with the version they show and refresh.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	ch := make(chan struct{}, 1)
	s.subsMu.Lock()
	if len(s.subs) >= maxStreams {
		s.subsMu.Unlock()
		http.Error(w, "503 too many live-update streams", http.StatusServiceUnavailable)
		return
	}
	s.subs[ch] = struct{}{}
	s.subsMu.Unlock()
	defer func() {
		s.subsMu.Lock()
		delete(s.subs, ch)
		s.subsMu.Unlock()
	}()

	// The stream outlives the server's ReadTimeout, whose deadline would otherwise end it (the
	// connection's background read times out and cancels the request) every 30 seconds.
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	send := func(format string, args ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 2000\nevent: version\ndata: %s\n\n", s.snap.Load().etag) {
		return
	}
	keepAlive := time.NewTicker(25 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-keepAlive.C:
			if !send(": keep-alive\n\n") {
				return
			}
		case <-ch:
			if !send("event: version\ndata: %s\n\n", s.snap.Load().etag) {
				return
			}
		}
	}
}

func (s *Server) internalError(w http.ResponseWriter, what string, err error) {
	s.opts.Logf("threatcov serve: %s: %v", what, err)
	http.Error(w, "500 internal error: "+what+" failed (see the server's log)", http.StatusInternalServerError)
}
