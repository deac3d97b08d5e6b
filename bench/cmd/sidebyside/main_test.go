package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestMedian(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"one", []time.Duration{5 * ms}, 5 * ms},
		{"odd, unsorted", []time.Duration{9 * ms, 1 * ms, 4 * ms}, 4 * ms},
		{"even: mean of the middle two", []time.Duration{4 * ms, 1 * ms, 2 * ms, 9 * ms}, 3 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := median(tc.in); got != tc.want {
				t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// TestRun times two real commands and checks the row names them and the exit code policy.
func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantRow  string
	}{
		{"row", []string{"-n", "2", "-warmup", "0", "-name", "t", "-cmd", "a=true", "-cmd", "b=true"}, 0, "| t | "},
		{"exit 1 allowed by default", []string{"-n", "1", "-name", "t", "-cmd", "a=true", "-cmd", "b=false"}, 0, "| t | "},
		{"exit 1 refused", []string{"-n", "1", "-ok", "0", "-name", "t", "-cmd", "a=true", "-cmd", "b=false"}, 1, ""},
		{"missing command", []string{"-n", "1", "-cmd", "a=true", "-cmd", "b=/nonexistent/cmd"}, 1, ""},
		{"one command", []string{"-cmd", "a=true"}, 2, ""},
		{"bad -cmd", []string{"-cmd", "a", "-cmd", "b=true"}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.wantCode, errOut.String())
			}
			if tc.wantRow != "" && !strings.HasPrefix(out.String(), tc.wantRow) {
				t.Errorf("row %q, want prefix %q", out.String(), tc.wantRow)
			}
		})
	}
}

func TestHeaderColumnsMatchRow(t *testing.T) {
	var hdr, row, errOut bytes.Buffer
	run([]string{"-header"}, &hdr, &errOut)
	run([]string{"-n", "1", "-warmup", "0", "-name", "t", "-cmd", "a=true", "-cmd", "b=true"}, &row, &errOut)
	first := strings.SplitN(hdr.String(), "\n", 2)[0]
	if diff := cmp.Diff(strings.Count(first, "|"), strings.Count(strings.TrimSpace(row.String()), "|")); diff != "" {
		t.Errorf("header and row column counts differ (-header +row):\n%s", diff)
	}
}
