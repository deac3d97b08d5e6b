// Command scalegen writes K-1 renamed copies of the embedded CNCF catalog into a folder, so
// `threatcov analyze --trees DIR` (trees-mode add) analyses a catalog K times the CNCF one
// (bench/scale.sh). Every tree and node id of every catalog file gets the suffix -cN in copy N,
// consistently across files, so subtree targets point into the same copy. Labels and CNCF
// references are kept, so the default mapping's label and ref entries map the copies too.
package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/threatcov/threatcov/attacktrees"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

var idLine = regexp.MustCompile(`(?m)^(?:  - )?id: *([a-z0-9-]+)\s*$`)

func run(args []string, stderr io.Writer) int {
	fl := flag.NewFlagSet("scalegen", flag.ContinueOnError)
	fl.SetOutput(stderr)
	k := fl.Int("k", 10, "scale factor: the embedded catalog plus k-1 copies")
	src := fl.String("catalog", "attacktrees/catalog", "folder of the catalog's tree files")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() != 1 || *k < 1 {
		fmt.Fprintln(stderr, "usage: scalegen [-k K] [-catalog DIR] OUTDIR")
		return 2
	}
	files, err := catalogFiles(*src)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ids := map[string]bool{}
	for _, data := range files {
		for _, m := range idLine.FindAllStringSubmatch(string(data), -1) {
			ids[m[1]] = true
		}
	}
	out := fl.Arg(0)
	if err := os.MkdirAll(out, 0o755); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range files {
			if !yield(n) {
				return
			}
		}
	})
	for c := 1; c < *k; c++ {
		suffix := fmt.Sprintf("-c%d", c)
		for _, name := range names {
			text := renameAll(string(files[name]), ids, suffix)
			dst := filepath.Join(out, strings.TrimSuffix(name, ".yaml")+suffix+".yaml")
			if err := os.WriteFile(dst, []byte(text), 0o644); err != nil {
				fmt.Fprintln(stderr, err)
				return 1
			}
		}
	}
	// Check the result loads, so a timing never measures an error path.
	if *k > 1 {
		if _, err := attacktrees.Load(attacktrees.ModeAdd, out); err != nil {
			fmt.Fprintf(stderr, "generated catalog does not load: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "wrote %d copies of %d trees (%d ids each) to %s\n", *k-1, len(names), len(ids), out)
	return 0
}

// idKeys are the schema fields whose values are node or tree ids (docs/attack-trees.md).
var idKeys = regexp.MustCompile(`^\s*(?:- )?(?:id|children|target|annotates):`)

var token = regexp.MustCompile(`[a-z0-9-]+`)

// renameAll suffixes every catalog id in the id-valued fields; labels, refs and comments are
// left alone. Tokens are maximal runs of id characters, so one id is never matched inside
// another.
func renameAll(text string, ids map[string]bool, suffix string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if !idKeys.MatchString(l) {
			continue
		}
		key, val, _ := strings.Cut(l, ":")
		lines[i] = key + ":" + token.ReplaceAllStringFunc(val, func(t string) string {
			if ids[t] {
				return t + suffix
			}
			return t
		})
	}
	return strings.Join(lines, "\n")
}

func catalogFiles(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || filepath.Ext(path) != ".yaml" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[filepath.Base(path)] = data
		return nil
	})
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("%s: no tree files", dir)
	}
	return out, err
}
