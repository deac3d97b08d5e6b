package serve

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/servetest"
)

// shared is one server over the catalog, the test policies and the hostile tree, built once:
// the tests below only read it.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

func testServer(t *testing.T) *Server {
	t.Helper()
	shared.once.Do(func() {
		analyze, _ := analysis(t, "testdata/policies", hostileTree)
		shared.srv, shared.err = New(Options{Analyze: analyze})
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv
}

// get sends one request to the handler as if from a loopback browser.
func get(t *testing.T, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.Host = "127.0.0.1:8080"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSecurityHeaders(t *testing.T) {
	s := testServer(t)
	want := map[string]string{
		"Content-Security-Policy": contentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	for _, target := range []string{"/", "/tree/malicious-code-execution", "/search?q=pid", "/assets/app.js", "/reports/threatcov-report.json", "/nope", "/assets/../x"} {
		rec := get(t, s, http.MethodGet, target)
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", target, k, got, v)
			}
		}
	}
	csp := contentSecurityPolicy
	for _, must := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, must) {
			t.Errorf("CSP lacks %q", must)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %s", csp)
	}
}

func TestRoutes(t *testing.T) {
	s := testServer(t)
	tests := []struct {
		name, method, target string
		code                 int
		contentType          string
	}{
		{"index", "GET", "/", 200, "text/html; charset=utf-8"},
		{"index head", "HEAD", "/", 200, "text/html; charset=utf-8"},
		{"tree", "GET", "/tree/malicious-code-execution", 200, "text/html; charset=utf-8"},
		{"one goal's sub-tree", "GET", "/tree/scenario-attacker-on-network?goal=san-exploit-stored-secrets", 200, "text/html; charset=utf-8"},
		{"not a goal of the tree", "GET", "/tree/scenario-attacker-on-network?goal=mce-goal", 404, ""},
		{"search", "GET", "/search?q=hostPID", 200, "text/html; charset=utf-8"},
		{"policies", "GET", "/policies?q=host", 200, "text/html; charset=utf-8"},
		{"css", "GET", "/assets/style.css", 200, "text/css; charset=utf-8"},
		{"js", "GET", "/assets/app.js", 200, "text/javascript; charset=utf-8"},
		{"drawing font", "GET", "/assets/tc-sans-regular.woff2", 200, "font/woff2"},
		{"json report", "GET", "/reports/threatcov-report.json", 200, "application/json"},
		{"sarif report", "GET", "/reports/threatcov-report.sarif", 200, "application/sarif+json"},
		{"markdown report", "GET", "/reports/threatcov-report.md", 200, "text/markdown; charset=utf-8"},
		{"html report", "GET", "/reports/threatcov-report.html", 200, "text/html; charset=utf-8"},
		{"navigator layer", "GET", "/reports/threatcov-layer.json", 200, "application/json"},
		{"unknown page", "GET", "/nope", 404, ""},
		{"unknown tree", "GET", "/tree/no-such-tree", 404, ""},
		{"tree folder", "GET", "/tree/", 404, ""},
		{"unknown asset", "GET", "/assets/missing.js", 404, ""},
		{"templates are not assets", "GET", "/assets/layout.html", 404, ""},
		{"unknown report", "GET", "/reports/threatcov-report.yaml", 404, ""},
		{"index.html", "GET", "/index.html", 404, ""},
		{"post", "POST", "/", 405, ""},
		{"put", "PUT", "/tree/malicious-code-execution", 405, ""},
		{"delete", "DELETE", "/reports/threatcov-report.json", 405, ""},
		{"patch", "PATCH", "/assets/app.js", 405, ""},
		{"options", "OPTIONS", "/", 405, ""},
		{"post unknown", "POST", "/nope", 405, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, s, tc.method, tc.target)
			if rec.Code != tc.code {
				t.Fatalf("%s %s: %d, want %d: %s", tc.method, tc.target, rec.Code, tc.code, rec.Body.String())
			}
			if tc.contentType != "" && rec.Header().Get("Content-Type") != tc.contentType {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tc.contentType)
			}
			if tc.code == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q", rec.Header().Get("Allow"))
			}
			if tc.method == "HEAD" && rec.Body.Len() != 0 {
				t.Errorf("HEAD has a body")
			}
		})
	}
}

// TestTraversalRefused sends raw request lines over a real socket, so neither a client nor
// the test harness cleans the path first.
func TestTraversalRefused(t *testing.T) {
	ts := httptest.NewServer(testServer(t))
	defer ts.Close()
	targets := []string{
		"/assets/../server.go",
		"/assets/../../go.mod",
		"/assets/%2e%2e/server.go",
		"/assets/%2E%2E%2Fserver.go",
		"/assets/..%2fserver.go",
		"/assets/..%5cserver.go",
		"/assets/..\\server.go",
		"/tree/..%2f..%2fgo.mod",
		"/./assets/app.js",
		"/assets//app.js",
		"/..",
		"/reports/%2e%2e%2f%2e%2e%2fgo.mod",
		"/assets/app.js%00.css",
	}
	for _, target := range targets {
		status, body := rawGet(t, ts.Listener.Addr().String(), target)
		if status != "400" {
			t.Errorf("GET %s: status %s, want 400", target, status)
		}
		for _, leak := range []string{"package serve", "module github.com", "threatcov serve: progressive"} {
			if strings.Contains(body, leak) {
				t.Errorf("GET %s leaked a file (%q)", target, leak)
			}
		}
	}
	// Double encoding decodes once to a harmless literal name, which is simply not an asset.
	if status, _ := rawGet(t, ts.Listener.Addr().String(), "/assets/%252e%252e%252fserver.go"); status != "404" {
		t.Errorf("double-encoded traversal: status %s, want 404", status)
	}
}

func rawGet(t *testing.T, addr, target string) (status, body string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, addr)
	data, _ := io.ReadAll(bufio.NewReader(conn))
	line, rest, _ := strings.Cut(string(data), "\r\n")
	fields := strings.Fields(line)
	if len(fields) < 2 {
		t.Fatalf("GET %s: bad response %q", target, data)
	}
	return fields[1], rest
}

// TestLabelsEscaped: a tree whose title, labels and ref carry markup renders them as text on
// every page, the drawing included.
func TestLabelsEscaped(t *testing.T) {
	s := testServer(t)
	for _, target := range []string{"/", "/tree/hostile", "/search?q=script", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E", "/tree/malicious-code-execution"} {
		rec := get(t, s, http.MethodGet, target)
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d", target, rec.Code)
		}
		body := rec.Body.String()
		if n := strings.Count(strings.ToLower(body), "<script"); n != 1 {
			t.Errorf("GET %s: %d <script elements, want only the app.js one", target, n)
		}
		if strings.Contains(body, "<img") || strings.Contains(body, "onerror=alert") && !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("GET %s: the <img> label is live markup", target)
		}
		if regexp.MustCompile(`(?i)<script[^>]*>[^<]`).MatchString(body) {
			t.Errorf("GET %s: an inline script", target)
		}
		if strings.Contains(body, " style=") {
			t.Errorf("GET %s: an inline style attribute (the CSP forbids it)", target)
		}
	}
	body := get(t, s, http.MethodGet, "/tree/hostile").Body.String()
	for _, want := range []string{"&lt;script&gt;alert(&#39;goal&#39;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt; &amp; &#34;quotes&#34;"} {
		if !strings.Contains(body, want) {
			t.Errorf("tree page lacks the escaped label %q", want)
		}
	}
	long := get(t, s, http.MethodGet, "/search?q="+strings.Repeat("%C3%A9", 150)).Body.String() // 300 bytes of "é"
	if !strings.Contains(long, `value="`+strings.Repeat("é", maxQuery/2)+`"`) || strings.Contains(long, "\uFFFD") {
		t.Errorf("a long query is not cut at a character boundary")
	}
	search := get(t, s, http.MethodGet, "/search?q=%3Cscript%3Ealert(1)%3C/script%3E").Body.String()
	if !strings.Contains(search, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("search page does not show the query as text")
	}
}

// TestTreePage checks the facts a tree page carries without JavaScript: the drawing with node
// ids, each node's section with its status and blocking policy, and open paths to highlight.
func TestTreePage(t *testing.T) {
	s := testServer(t)
	body := get(t, s, http.MethodGet, "/tree/malicious-code-execution").Body.String()
	for _, want := range []string{
		`<svg`,
		`id="mce&#45;find&#45;pod&#45;with&#45;hostpid" class="node"`,
		`id="d_mce-find-pod-with-hostpid"`,
		`data-label="Find Pod/Container with HostPID"`,
		`<code>gatekeeper:K8sPSPHostNamespace/psp-host-namespace</code>`,
		`<span class="status s-blocked">blocked</span> (verified)`,
		`class="path" data-nodes="`,
		`href="/reports/threatcov-report.sarif"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("tree page lacks %q", want)
		}
	}
	if strings.Contains(body, "<?xml") || strings.Contains(body, "<!DOCTYPE svg") {
		t.Errorf("the inline drawing kept its XML prolog")
	}
	if strings.Contains(body, "<style") {
		t.Errorf("the inline drawing kept its font style, which the CSP refuses")
	}
	if !strings.Contains(body, `51 nodes, 22 leaves, 1 goal(s) drawn in this tree`) {
		t.Errorf("tree page does not give the counts of threatcov trees list")
	}
	byPolicy := get(t, s, http.MethodGet, "/search?q=k8spsphostnamespace").Body.String()
	for _, want := range []string{`href="/tree/malicious-code-execution#d_mce-find-pod-with-hostpid"`, `<code>gatekeeper:K8sPSPHostNamespace/psp-host-namespace: blocks</code>`} {
		if !strings.Contains(byPolicy, want) {
			t.Errorf("search by policy id lacks %q", want)
		}
	}
	search := get(t, s, http.MethodGet, "/search?q=hostPID").Body.String()
	for _, want := range []string{`href="/tree/malicious-code-execution#d_mce-find-pod-with-hostpid"`, `href="/tree/denial-of-service#d_dos-find-pod-with-hostpid"`} {
		if !strings.Contains(search, want) {
			t.Errorf("search for hostPID lacks %q", want)
		}
	}
}

// TestReportsMatchAnalysis: the downloads are the reports of the analysis on show.
func TestReportsMatchAnalysis(t *testing.T) {
	s := testServer(t)
	rec := get(t, s, http.MethodGet, "/reports/threatcov-report.json")
	if got := rec.Header().Get("Content-Disposition"); got != `attachment; filename="threatcov-report.json"` {
		t.Errorf("Content-Disposition = %q", got)
	}
	var got analyzer.Result
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := s.snap.Load().result
	if diff := cmp.Diff(want.Summary.Paths.Coverage.Den.String(), got.Summary.Paths.Coverage.Den.String()); diff != "" {
		t.Errorf("paths total differ (-served +downloaded):\n%s", diff)
	}
	if len(got.Steps) != len(want.Steps) || got.SchemaVersion != analyzer.SchemaVersion {
		t.Errorf("downloaded report is not the analysis on show")
	}
	var sarif struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(get(t, s, http.MethodGet, "/reports/threatcov-report.sarif").Body.Bytes(), &sarif); err != nil || sarif.Version != "2.1.0" {
		t.Errorf("SARIF download: version %q, %v", sarif.Version, err)
	}
}

func TestConditionalGet(t *testing.T) {
	s := testServer(t)
	first := get(t, s, http.MethodGet, "/tree/denial-of-service")
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	req := httptest.NewRequest(http.MethodGet, "/tree/denial-of-service", nil)
	req.Host = "localhost:8080"
	req.Header.Set("If-None-Match", etag)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d with %d bytes, want 304 and none", rec.Code, rec.Body.Len())
	}
}

// TestGzip: a client that accepts gzip gets the same bytes compressed, under its own ETag.
func TestGzip(t *testing.T) {
	s := testServer(t)
	for _, target := range []string{"/tree/scenario-compromised-container", "/", "/assets/app.js", "/reports/threatcov-report.html"} {
		plain := get(t, s, http.MethodGet, target)
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Host = "127.0.0.1:8080"
		req.Header.Set("Accept-Encoding", "br;q=1.0, gzip;q=0.8")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s: Content-Encoding %q, want gzip", target, rec.Header().Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, plain.Body.Bytes()) {
			t.Errorf("%s: gzipped body differs from the plain one", target)
		}
		if rec.Header().Get("ETag") == plain.Header().Get("ETag") || rec.Header().Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s: ETag %s for both encodings, Vary %q", target, rec.Header().Get("ETag"), rec.Header().Get("Vary"))
		}
	}
	for header, want := range map[string]bool{"gzip": true, "GZIP": true, "deflate, gzip": true, "gzip;q=0": false, "gzip; q=0.000": false, "br": false, "": false, "xgzip": false} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Accept-Encoding", header)
		if got := acceptsGzip(req); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

// TestHostChecked: on loopback, only loopback host names are answered (DNS rebinding).
func TestHostChecked(t *testing.T) {
	s := testServer(t)
	for host, code := range map[string]int{
		"127.0.0.1:8080": 200, "localhost:8080": 200, "[::1]:8080": 200, "LOCALHOST": 200, "127.0.0.2": 200,
		"evil.example:8080": 403, "evil.example": 403, "127.0.0.1.evil.example": 403, "": 403,
	} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != code {
			t.Errorf("Host %q: %d, want %d", host, rec.Code, code)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "localhost": true, "::1": true, "[::1]": true, "127.1.2.3": true,
		"": false, "0.0.0.0": false, "::": false, "192.168.1.10": false, "example.com": false, "localhost.example": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestConcurrentBurst: 200 requests from 20 goroutines over real loopback connections, to every
// kind of page (the first requests race to render the same pages), all answered 200.
func TestConcurrentBurst(t *testing.T) {
	analyze, _ := analysis(t, "testdata/policies")
	s, err := New(Options{Analyze: analyze})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 20}}
	targets := []string{"/", "/tree/malicious-code-execution", "/tree/denial-of-service", "/search?q=container",
		"/assets/app.js", "/assets/style.css", "/reports/threatcov-report.json", "/reports/threatcov-report.md",
		"/tree/scenario-compromised-container", "/tree/access-sensitive-data"}
	const workers, each = 20, 10
	errs := make(chan error, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				target := targets[(w+i)%len(targets)]
				resp, err := client.Get(ts.URL + target)
				if err != nil {
					errs <- err
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					errs <- fmt.Errorf("GET %s: %d %v", target, resp.StatusCode, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestWatchReanalyses: changing a watched policy file re-runs the analysis, the pages show the
// new result and the event stream announces the new version.
func TestWatchReanalyses(t *testing.T) {
	dir := copyPolicies(t)
	file := filepath.Join(dir, "host-namespaces.yaml")
	dryrun, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(string(dryrun), "enforcementAction: deny", "enforcementAction: dryrun", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	analyze, runs := analysis(t, dir)
	var logMu sync.Mutex
	var log strings.Builder
	s, err := New(Options{Analyze: analyze, Watch: []string{dir}, PollInterval: 10 * time.Millisecond, Debounce: 30 * time.Millisecond,
		Logf: func(format string, args ...any) {
			logMu.Lock()
			defer logMu.Unlock()
			fmt.Fprintf(&log, format+"\n", args...)
		}})
	if err != nil {
		t.Fatal(err)
	}
	base := servetest.Start(t, s)

	nodeStatus := func() string {
		resp, err := http.Get(base + "/tree/malicious-code-execution")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`id="d_mce-find-pod-with-hostpid"[^>]*data-status="([a-z-]+)"`).FindSubmatch(body)
		if m == nil {
			t.Fatal("no node section for mce-find-pod-with-hostpid")
		}
		return string(m[1])
	}
	if got := nodeStatus(); got != "monitored" {
		t.Fatalf("before the change: %s, want monitored", got)
	}

	resp, err := http.Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := bufio.NewReader(resp.Body)
	first := readVersion(t, events)

	// Back to deny, replaced in one step as editors save: a write the poller could see half
	// done (truncated, then filled) under load would publish a version of the empty file.
	tmp := filepath.Join(t.TempDir(), "host-namespaces.yaml")
	if err := os.WriteFile(tmp, dryrun, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	next := readVersion(t, events) // blocks until the re-analysis is published
	if next == first {
		t.Fatalf("event stream repeated version %s", first)
	}
	if got := nodeStatus(); got != "blocked" {
		t.Errorf("after the change: %s, want blocked", got)
	}
	if runs.Load() < 2 {
		t.Errorf("%d analyses, want a re-analysis", runs.Load())
	}

	// A broken input keeps the last good result on show, with the error beside it.
	if err := os.WriteFile(file, []byte("kind: [unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	readVersion(t, events)
	if got := nodeStatus(); got != "blocked" {
		t.Errorf("after a failed re-analysis: %s, want the previous blocked", got)
	}
	index, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(index.Body)
	index.Body.Close()
	if !strings.Contains(string(body), "The latest re-analysis failed") {
		t.Errorf("index does not say the re-analysis failed")
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, want := range []string{"listening on http://127.0.0.1:", "loopback only", "watching " + dir, "re-analysis failed"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

// TestEventStreamsBounded: at most maxStreams live-update streams; one more gets 503 until a
// stream closes.
func TestEventStreamsBounded(t *testing.T) {
	ts := httptest.NewServer(testServer(t))
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	open := func() *http.Response {
		t.Helper()
		resp, err := client.Get(ts.URL + "/events")
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var streams []*http.Response
	defer func() {
		for _, r := range streams {
			r.Body.Close()
		}
	}()
	for range maxStreams {
		resp := open()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream %d: %d %s", len(streams), resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		readVersion(t, bufio.NewReader(resp.Body)) // registered and sent the current version
		streams = append(streams, resp)
	}
	extra := open()
	extra.Body.Close()
	if extra.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("stream %d: %d, want 503", maxStreams+1, extra.StatusCode)
	}
	streams[0].Body.Close()
	streams = streams[1:]
	for { // the server notices the closed stream on its next write or read; wait for that
		resp := open()
		if resp.StatusCode == 200 {
			resp.Body.Close()
			break
		}
		resp.Body.Close()
		time.Sleep(10 * time.Millisecond)
	}
}

// readVersion reads the event stream up to the next version event. The read is bounded by the
// test's own deadline only if the server never publishes: a hang here is the failure.
func readVersion(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	event := ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && event == "version":
			return strings.TrimPrefix(line, "data: ")
		}
	}
}

// fakeAddr makes a loopback listener report another address, to see the warning without
// listening beyond loopback in a test.
type fakeAddr struct {
	net.Listener
	addr net.Addr
}

func (f fakeAddr) Addr() net.Addr { return f.addr }

func TestNonLoopbackWarns(t *testing.T) {
	analyze, _ := analysis(t, "testdata/policies")
	var log strings.Builder
	var mu sync.Mutex
	s, err := New(Options{Addr: "0.0.0.0:8080", Analyze: analyze, Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&log, format+"\n", args...)
	}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Serve(ctx, fakeAddr{ln, &net.TCPAddr{IP: net.IPv4zero, Port: 8080}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(log.String(), "WARNING: listening on 0.0.0.0:8080, which is not a loopback address") {
		t.Errorf("no warning:\n%s", log.String())
	}
	// Beyond loopback the user chose the audience: any Host is answered.
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Host = "threatcov.internal:8080"
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("Host threatcov.internal on a non-loopback server: %d", rec.Code)
	}
}

// TestReanalysisPanic: an analysis that panics after a good one leaves the good one on show.
func TestReanalysisPanic(t *testing.T) {
	good, runs := analysis(t, "testdata/policies")
	s, err := New(Options{Analyze: func(ctx context.Context) (*analyzer.Result, *attacktrees.Catalog, error) {
		if runs.Load() > 0 {
			panic("boom")
		}
		return good(ctx)
	}})
	if err != nil {
		t.Fatal(err)
	}
	before := s.snap.Load()
	if err := s.analyze(context.Background()); err == nil || !strings.Contains(err.Error(), "analysis panicked: boom") {
		t.Fatalf("re-analysis error %v, want the panic", err)
	}
	after := s.snap.Load()
	if after.result != before.result || after.failed == nil || after.etag == before.etag {
		t.Errorf("after the panic: same result %v, failure %v, new version %v", after.result == before.result, after.failed, after.etag != before.etag)
	}
	if body := get(t, s, http.MethodGet, "/").Body.String(); !strings.Contains(body, "analysis panicked: boom") {
		t.Errorf("the index does not show the failure")
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Options{}); err != ErrNoAnalyze {
		t.Errorf("no Analyze: %v", err)
	}
	analyze, _ := analysis(t, "testdata/no-such-folder")
	if _, err := New(Options{Analyze: analyze}); err == nil || !strings.Contains(err.Error(), "no-such-folder") {
		t.Errorf("failing first analysis: %v, want its error", err)
	}
	ok, _ := analysis(t, "testdata/policies")
	if _, err := New(Options{Addr: "8080", Analyze: ok}); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Errorf("bad addr: %v", err)
	}
}

// TestSubtreeBoxPanel: a subtree box's panel names what it stands for (every top-level goal of
// a tree it refers to) and lists its own children (docs/semantics.md, "Subtree boxes").
func TestSubtreeBoxPanel(t *testing.T) {
	s := testServer(t)
	body := get(t, s, http.MethodGet, "/tree/scenario-attacker-on-network").Body.String()
	for _, want := range []string{
		`<dd>subtree reference, AND one of its children</dd>`,
		`<div><dt>Stands for</dt><dd><a href="/tree/denial-of-service#d_dos-goal" data-node="dos-goal">DOS K8s Cluster</a></dd></div>`,
		`<div><dt>Stands for</dt><dd>one of <a href="/tree/scenario-compromised-container#d_scc-push-poisoned-image"`,
		`<p class="rel">Children: <a href="/tree/scenario-attacker-on-network#d_san-perform-attack-via-network" data-node="san-perform-attack-via-network">Perform attack via network</a></p>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("tree page lacks %q", want)
		}
	}
}
