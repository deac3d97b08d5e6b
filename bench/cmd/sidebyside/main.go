// Command sidebyside times two or more commands whole-process on the same inputs, alternating
// them run by run so that a change in machine load hits each one alike, and prints one
// markdown table row per command pair: median wall time, median CPU time (user+sys), median peak RSS
// and the ratio of the first command to each other one.
//
// CPU time is reported next to wall time because the benchmark machine is shared: under load
// the wall time of a short process is mostly time spent waiting for a core, which says more
// about the neighbours than about the program.
//
//	sidebyside -n 7 -name "verify vs conftest" \
//	  -cmd "threatcov=/tmp/tc verify --policies p" -cmd "conftest=conftest test ..."
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type command struct {
	label string
	argv  []string
	wall  []time.Duration
	cpu   []time.Duration
	rss   []int64 // KiB
	codes map[int]int
}

type cmdFlags []string

func (c *cmdFlags) String() string     { return strings.Join(*c, ";") }
func (c *cmdFlags) Set(s string) error { *c = append(*c, s); return nil }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sidebyside", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 7, "timed runs of each command")
	warmup := fs.Int("warmup", 1, "untimed runs of each command first (page cache, go-graphviz's compilation cache)")
	name := fs.String("name", "", "comparison name for the table row")
	okCodes := fs.String("ok", "0,1", "exit codes that count as success (conftest and gator exit 1 when they find violations)")
	header := fs.Bool("header", false, "print the markdown table header and exit")
	var cmds cmdFlags
	fs.Var(&cmds, "cmd", `"label=argv..." (repeatable, split on spaces, no shell; the first is compared with each other)`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *header {
		fmt.Fprintln(stdout, "| comparison | threatcov wall | anchor wall | ratio wall | threatcov CPU | anchor CPU | ratio CPU | threatcov peak RSS (median) | anchor peak RSS (median) |")
		fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
		return 0
	}
	if len(cmds) < 2 || *n < 1 {
		fmt.Fprintln(stderr, "usage: sidebyside [-n N] [-warmup W] -name NAME -cmd label=argv -cmd label=argv...")
		return 2
	}
	ok := map[int]bool{}
	for _, s := range strings.Split(*okCodes, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintf(stderr, "-ok %q: %v\n", *okCodes, err)
			return 2
		}
		ok[c] = true
	}
	var list []*command
	for _, c := range cmds {
		label, rest, found := strings.Cut(c, "=")
		argv := strings.Fields(rest)
		if !found || len(argv) == 0 {
			fmt.Fprintf(stderr, "-cmd %q: want label=argv\n", c)
			return 2
		}
		list = append(list, &command{label: label, argv: argv, codes: map[int]int{}})
	}
	for i := 0; i < *warmup+*n; i++ {
		for _, c := range list {
			wall, cpu, rss, code, errOut, err := once(c.argv)
			if err != nil {
				fmt.Fprintf(stderr, "%s: %v\n", c.label, err)
				return 1
			}
			if !ok[code] {
				fmt.Fprintf(stderr, "%s: exit code %d:\n%s\n", c.label, code, errOut)
				return 1
			}
			if i < *warmup {
				continue
			}
			c.wall = append(c.wall, wall)
			c.cpu = append(c.cpu, cpu)
			c.rss = append(c.rss, rss)
			c.codes[code]++
		}
	}
	for _, c := range list {
		fmt.Fprintf(stderr, "%-12s wall %v cpu %v (exit codes %v)\n", c.label, c.wall, c.cpu, c.codes)
	}
	first := list[0]
	for _, other := range list[1:] {
		fw, ow := median(first.wall), median(other.wall)
		fc, oc := median(first.cpu), median(other.cpu)
		fmt.Fprintf(stdout, "| %s | %s | %s | %.2fx | %s | %s | %.2fx | %d MiB | %d MiB |\n",
			*name, ms(fw), ms(ow), ratio(fw, ow), ms(fc), ms(oc), ratio(fc, oc),
			medianInt(first.rss)/1024, medianInt(other.rss)/1024)
	}
	return 0
}

// once runs argv with stdout discarded and returns its wall time, user+sys CPU time and peak
// resident set size from the kernel's rusage.
func once(argv []string) (wall, cpu time.Duration, rssKiB int64, code int, stderr string, err error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = io.Discard
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	start := time.Now()
	err = cmd.Run()
	wall = time.Since(start)
	if err != nil {
		if _, isExit := err.(*exec.ExitError); !isExit {
			return 0, 0, 0, 0, "", err
		}
	}
	ps := cmd.ProcessState
	if ru, isRU := ps.SysUsage().(*syscall.Rusage); isRU {
		rssKiB = ru.Maxrss
	}
	return wall, ps.UserTime() + ps.SystemTime(), rssKiB, ps.ExitCode(), errBuf.String(), nil
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianInt(v []int64) int64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
}
