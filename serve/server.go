package serve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/threatcov/threatcov/analyzer"
	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/pipeline"
)

// DefaultAddr is where the server listens unless told otherwise: loopback only.
const DefaultAddr = "127.0.0.1:8080"

// AnalyzeFunc runs one analysis. It is called once by New and again after each watched change.
type AnalyzeFunc func(ctx context.Context) (*analyzer.Result, *attacktrees.Catalog, error)

// Pipeline is the analysis `threatcov serve` runs: the whole pipeline over c, reading every
// input anew on each call, as a re-analysis after a change must.
func Pipeline(c pipeline.Config) AnalyzeFunc {
	return func(ctx context.Context) (*analyzer.Result, *attacktrees.Catalog, error) {
		return pipeline.Run(ctx, c)
	}
}

// Options configure a Server.
type Options struct {
	// Addr is host:port to listen on; DefaultAddr when empty.
	Addr string
	// Analyze computes the result to show. Required.
	Analyze AnalyzeFunc
	// Watch are files and folders (walked recursively) whose change triggers a re-analysis.
	Watch []string
	// Logf receives progress and warnings (one line each, no trailing newline needed); nil
	// discards them.
	Logf func(format string, args ...any)

	// PollInterval is how often watched paths are scanned (default 1s). Debounce is how long they
	// must stay unchanged before re-analysing (default 400ms), so an editor's save burst or a
	// `git checkout` causes one analysis, not ten.
	PollInterval time.Duration
	Debounce     time.Duration
}

// ErrNoAnalyze is returned by New when Options.Analyze is nil.
var ErrNoAnalyze = errors.New("serve: Options.Analyze is required")

// Server is the threatcov web site over one analysis, replaced whole on each re-analysis.
type Server struct {
	opts     Options
	loopback bool   // Addr is a loopback address: requests must name a loopback host
	instance string // random per process, so ETags of two runs never collide
	pages    *pages
	handler  http.Handler

	snap    atomic.Pointer[snapshot]
	version atomic.Uint64
	// analyzeMu serialises analyses (the initial one, re-analyses after changes).
	analyzeMu sync.Mutex

	subsMu sync.Mutex
	subs   map[chan struct{}]struct{}
	done   chan struct{} // closed when Serve stops: ends event streams
	once   sync.Once
}

// New checks the options and runs the first analysis, so a bad input is reported before
// anything listens.
func New(opts Options) (*Server, error) {
	if opts.Analyze == nil {
		return nil, ErrNoAnalyze
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("serve: --addr %q: %v: use host:port, e.g. %s", opts.Addr, err, DefaultAddr)
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 400 * time.Millisecond
	}
	p, err := newPages()
	if err != nil {
		return nil, err
	}
	var id [6]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails (Go 1.24+)
	s := &Server{
		opts:     opts,
		loopback: isLoopback(host),
		instance: hex.EncodeToString(id[:]),
		pages:    p,
		subs:     map[chan struct{}]struct{}{},
		done:     make(chan struct{}),
	}
	s.handler = s.routes()
	if err := s.analyze(context.Background()); err != nil {
		return nil, err
	}
	return s, nil
}

// ServeHTTP answers one request; Server is an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// ListenAndServe listens on Options.Addr and serves until ctx ends, then shuts down gracefully.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("serve: listen on %s: %w (is another server using the port? choose another with --addr)", s.opts.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends. It says where it listens, warns when that is not loopback,
// and runs the watcher when Options.Watch is set. A Server serves once: after Serve returns,
// its event streams are closed for good.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	addr := ln.Addr().String()
	host, _, _ := net.SplitHostPort(addr)
	if isLoopback(host) {
		s.opts.Logf("threatcov serve: listening on http://%s (loopback only; read-only)", addr)
	} else {
		s.opts.Logf("threatcov serve: WARNING: listening on %s, which is not a loopback address: anyone who can reach it can read the analysis (policies, open attack paths); use --addr 127.0.0.1:PORT to keep it local", addr)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// No WriteTimeout: event streams stay open; each one is bounded by shutdown instead.
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		BaseContext:    func(net.Listener) context.Context { return ctx },
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if len(s.opts.Watch) > 0 {
		go s.watch(ctx)
		s.opts.Logf("threatcov serve: watching %s for changes", strings.Join(s.opts.Watch, ", "))
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		s.stop()
		return err
	case <-ctx.Done():
	}
	s.stop()
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// stop ends every event stream so a graceful shutdown does not wait on them.
func (s *Server) stop() { s.once.Do(func() { close(s.done) }) }

// analyze runs Options.Analyze and publishes the result. When a re-analysis fails the previous
// result stays on show with the error beside it; only the first analysis's error is returned
// as fatal by New.
func (s *Server) analyze(ctx context.Context) error {
	s.analyzeMu.Lock()
	defer s.analyzeMu.Unlock()
	start := time.Now()
	r, c, err := s.runAnalyze(ctx)
	if err == nil && (r == nil || c == nil) {
		err = errors.New("analysis returned no result")
	}
	prev := s.snap.Load()
	if err != nil {
		if prev == nil {
			return err
		}
		s.opts.Logf("threatcov serve: re-analysis failed, still showing the result of %s: %v", prev.analyzedAt.Format(time.TimeOnly), err)
		s.publish(newSnapshot(s.nextETag(), prev.result, prev.catalog, prev.analyzedAt, err))
		return err
	}
	if prev != nil {
		s.opts.Logf("threatcov serve: re-analysed in %s", time.Since(start).Round(time.Millisecond))
	}
	s.publish(newSnapshot(s.nextETag(), r, c, time.Now(), nil))
	return nil
}

// runAnalyze calls Options.Analyze. A panic in it becomes an error: under --watch the server
// outlives many analyses, and one bad input must not take down the pages of the last good one.
func (s *Server) runAnalyze(ctx context.Context) (r *analyzer.Result, c *attacktrees.Catalog, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.opts.Logf("threatcov serve: analysis panicked: %v\n%s", p, debug.Stack())
			r, c, err = nil, nil, fmt.Errorf("analysis panicked: %v (the stack is in the server's log)", p)
		}
	}()
	return s.opts.Analyze(ctx)
}

func (s *Server) nextETag() string {
	return fmt.Sprintf(`"%s-%d"`, s.instance, s.version.Add(1))
}

// publish makes snap the one every new request sees and tells open pages.
func (s *Server) publish(snap *snapshot) {
	s.snap.Store(snap)
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- struct{}{}:
		default: // already has an undelivered notice; it will read the newest version
		}
	}
}

// isLoopback reports whether host (from host:port) only accepts local connections. An empty
// host listens on every interface.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
