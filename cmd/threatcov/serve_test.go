package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestServeInputErrors: serve checks its address and analyses before it listens, so a bad
// input is a usage error (exit 2) and nothing is served.
func TestServeInputErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"address without port", []string{"serve", "--addr", "localhost"}, "use host:port"},
		{"missing policies", []string{"serve", "--policies", "testdata/no-such-folder", "--addr", "127.0.0.1:0"}, "testdata/no-such-folder"},
		{"stray argument", []string{"serve", "extra"}, "unknown command"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tc.args...)
			if code != exitInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitInput, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr)
			}
			if strings.Contains(stderr, "listening on") {
				t.Errorf("it listened despite the error:\n%s", stderr)
			}
		})
	}
}

func TestServeWatchPaths(t *testing.T) {
	var o serveOptions
	if err := o.command(streams{}).ParseFlags([]string{"--watch", "--policies", "p1", "--policies", "p2",
		"--mapping", "m.yaml", "--trees", "trees/", "--probes", "probes/"}); err != nil {
		t.Fatal(err)
	}
	if !o.watch {
		t.Errorf("--watch not set")
	}
	if diff := cmp.Diff([]string{"trees/", "p1", "p2", "m.yaml", "probes/"}, o.analysis.config(streams{}).Inputs()); diff != "" {
		t.Errorf("watch paths (-want +got):\n%s", diff)
	}
	var none serveOptions
	if err := none.command(streams{}).ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if none.addr != "127.0.0.1:8080" || len(none.analysis.config(streams{}).Inputs()) != 0 {
		t.Errorf("defaults: addr %q, watch paths %v", none.addr, none.analysis.config(streams{}).Inputs())
	}
}
