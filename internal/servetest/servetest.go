// Package servetest starts a server for a test on a free loopback port and stops it when the
// test ends. It never listens beyond loopback.
package servetest

import (
	"context"
	"net"
	"testing"
	"time"
)

// Server is what Start runs: serve.Server has this method.
type Server interface {
	Serve(ctx context.Context, ln net.Listener) error
}

// shutdown bounds how long the test's cleanup waits for Serve to return.
const shutdown = 10 * time.Second

// Start runs s on 127.0.0.1, on a port the kernel picks, and returns its base URL
// ("http://127.0.0.1:PORT"). The test's cleanup cancels the server's context and fails the
// test when Serve returns an error or does not return within 10s.
func Start(t testing.TB, s Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(shutdown):
			t.Errorf("the server did not shut down within %v", shutdown)
		}
	})
	return "http://" + ln.Addr().String()
}
