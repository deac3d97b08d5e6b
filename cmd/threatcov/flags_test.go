package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/threatcov/threatcov/reports"
	"github.com/threatcov/threatcov/serve"
)

// analysisInputs are the flags every analysing command reads: they all fill the one
// pipeline.Config the command runs.
var analysisInputs = []string{"base-pod", "context", "date", "from-cluster", "kubeconfig", "mapping", "namespace",
	"policies", "policy-timeout", "probe-live", "probe-namespace", "probes", "strict", "tenant-namespaces", "trees", "trees-mode"}

func with(base []string, more ...string) []string { return append(slices.Clone(base), more...) }

// offeredFlags is every flag each command offers (help and version aside). A flag belongs here
// only when the command reads it; --max-paths and --timestamp are also proven read by
// TestResultFlagsChangeOutput, and -o by TestOutputCompletion.
var offeredFlags = map[string][]string{
	"threatcov":                nil,
	"threatcov analyze":        with(analysisInputs, "file", "output", "max-paths", "timestamp"),
	"threatcov baseline":       nil,
	"threatcov baseline write": with(analysisInputs, "max-paths"),
	"threatcov check":          with(analysisInputs, "baseline", "fail-on", "file", "max-paths", "min-goal-coverage", "min-path-coverage", "output", "report", "timestamp"),
	"threatcov diff":           {"file", "output", "quiet"},
	"threatcov explain":        with(analysisInputs, "file", "output", "max-paths"),
	"threatcov fix": with(slices.DeleteFunc(slices.Clone(analysisInputs), func(f string) bool { return strings.HasPrefix(f, "probe-") }),
		"dir", "engine", "mode", "existing", "allowed-registry", "include"),
	"threatcov frameworks":      nil,
	"threatcov frameworks list": with(analysisInputs, "file", "output", "framework", "all"),
	"threatcov mapping":         nil,
	"threatcov mapping suggest": with(analysisInputs, "file"),
	"threatcov policies":        nil,
	"threatcov policies export": {"context", "dir", "from-cluster", "kubeconfig"},
	"threatcov policies list":   {"context", "file", "from-cluster", "kubeconfig", "output", "policies"},
	"threatcov render":          with(analysisInputs, "dir", "format", "report"),
	"threatcov serve":           with(analysisInputs, "addr", "max-paths", "timestamp", "watch"),
	"threatcov trees":           nil,
	"threatcov trees export":    {"file", "format", "trees", "trees-mode"},
	"threatcov trees import":    {"file", "format"},
	"threatcov trees list":      {"file", "output", "trees", "trees-mode"},
	"threatcov trees show":      {"file", "output", "trees", "trees-mode"},
	"threatcov trees validate":  nil,
	"threatcov verify":          with(analysisInputs, "file", "output"),
	"threatcov version":         nil,
}

// commands lists every command of the CLI (cobra's own help and completion aside).
func commands() []*cobra.Command {
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() == "help" || c.Name() == "completion" {
			return
		}
		out = append(out, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(streams{}))
	return out
}

func flagNames(c *cobra.Command) []string {
	var names []string
	visit := func(f *pflag.Flag) {
		if f.Name != "help" && f.Name != "version" && !f.Hidden { // hidden: neither in help nor completed
			names = append(names, f.Name)
		}
	}
	c.Flags().VisitAll(visit)
	c.InheritedFlags().VisitAll(visit)
	sort.Strings(names)
	return slices.Compact(names)
}

// TestFlagsOffered: --help and completion offer exactly the flags each command reads.
func TestFlagsOffered(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands() {
		path := c.CommandPath()
		seen[path] = true
		want, ok := offeredFlags[path]
		if !ok {
			t.Errorf("%s: not in offeredFlags: list the flags it reads", path)
			continue
		}
		want = slices.Clone(want)
		sort.Strings(want)
		if diff := cmp.Diff(want, flagNames(c), cmpEmpty); diff != "" {
			t.Errorf("%s offers other flags than it reads (-read +offered):\n%s", path, diff)
		}
	}
	for path := range offeredFlags {
		if !seen[path] {
			t.Errorf("offeredFlags names %s, which is no command", path)
		}
	}
}

var cmpEmpty = cmp.Transformer("empty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

// TestResultFlagsChangeOutput proves that every command offering --max-paths or --timestamp
// reads it: on a small catalog whose goals have two open paths each, the command's output with
// the flag differs from its output without. A command that starts offering either flag fails
// here until a case shows what the flag changes.
func TestResultFlagsChangeOutput(t *testing.T) {
	gate := []string{"--trees-mode", "replace", "--trees", "testdata/gate/tree.yaml", "--mapping", "testdata/gate/mapping.yaml", "--date", "2026-12-01"}
	dir := t.TempDir()
	cli := func(t *testing.T, args ...string) string {
		t.Helper()
		code, out, stderr := runCLI(t, args...)
		if code == exitInput {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		return out
	}
	file := func(t *testing.T, path string) string {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	outputs := map[string]func(t *testing.T, flags ...string) string{
		"threatcov analyze": func(t *testing.T, flags ...string) string {
			return cli(t, with(with([]string{"analyze", "-o", "json"}, gate...), flags...)...)
		},
		"threatcov check": func(t *testing.T, flags ...string) string {
			report := filepath.Join(dir, "check.json")
			cli(t, with(with([]string{"check", "--report", "json=" + report}, gate...), flags...)...)
			return file(t, report)
		},
		"threatcov baseline write": func(t *testing.T, flags ...string) string {
			base := filepath.Join(dir, "baseline.json")
			cli(t, with(with([]string{"baseline", "write", base}, gate...), flags...)...)
			return file(t, base)
		},
		"threatcov explain": func(t *testing.T, flags ...string) string {
			// gate-privileged is on the longer of the two paths to gate-goal: listed only
			// when more than one path per goal is.
			return cli(t, with(with([]string{"explain", "gate-privileged", "-o", "json"}, gate...), flags...)...)
		},
		"threatcov serve": func(t *testing.T, flags ...string) string {
			var o serveOptions
			if err := o.command(streams{}).ParseFlags(with(gate, flags...)); err != nil {
				t.Fatal(err)
			}
			res, cat, err := serve.Pipeline(o.analysis.config(streams{}))(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := reports.Render(&b, "json", res, cat); err != nil {
				t.Fatal(err)
			}
			return b.String()
		},
	}
	flagArgs := map[string][]string{"max-paths": {"--max-paths", "1"}, "timestamp": {"--timestamp"}}
	for _, c := range commands() {
		for _, name := range flagNames(c) {
			args, ok := flagArgs[name]
			if !ok {
				continue
			}
			t.Run(c.CommandPath()+" --"+name, func(t *testing.T) {
				output, ok := outputs[c.CommandPath()]
				if !ok {
					t.Fatalf("%s offers --%s: add a case showing what it changes, or stop offering it", c.CommandPath(), name)
				}
				if output(t) == output(t, args...) {
					t.Errorf("%s %s: same output as without it, so the command ignores the flag", c.CommandPath(), strings.Join(args, " "))
				}
			})
		}
	}
}

// TestOutputCompletion: -o completes to exactly the formats the command writes, and a command
// that writes one format offers no -o.
func TestOutputCompletion(t *testing.T) {
	want := map[string][]string{
		"analyze":         reports.Formats,
		"check":           reports.DiffFormats,
		"diff":            reports.DiffFormats,
		"explain":         {"table", "json"},
		"frameworks list": {"table", "json"},
		"verify":          {"table", "json"},
		"policies list":   {"table", "json"},
		"trees list":      {"table", "json"},
		"trees show":      {"tree", "json", "yaml"},
	}
	for _, c := range commands() {
		path := strings.TrimPrefix(c.CommandPath(), "threatcov ")
		if c.Flags().Lookup("output") == nil {
			if _, ok := want[path]; ok {
				t.Errorf("%s offers no -o", path)
			}
			continue
		}
		formats, ok := want[path]
		if !ok {
			t.Errorf("%s offers -o: list its formats here", path)
			continue
		}
		code, out, stderr := runCLI(t, append(append([]string{"__complete"}, strings.Fields(path)...), "-o", "")...)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s", path, code, stderr)
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if !strings.HasPrefix(line, ":") {
				got = append(got, strings.SplitN(line, "\t", 2)[0])
			}
		}
		if diff := cmp.Diff(formats, got); diff != "" {
			t.Errorf("%s -o completes (-want +got):\n%s", path, diff)
		}
	}
}
