package attacktrees

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

//go:embed catalog
var catalogFS embed.FS

// Mode says how user trees combine with the embedded catalog.
type Mode string

const (
	// ModeAdd loads user trees beside the embedded catalog; ids must not clash.
	ModeAdd Mode = "add"
	// ModeReplace loads only the user trees.
	ModeReplace Mode = "replace"
)

// DefaultTrees parses the embedded CNCF catalog. Its files are named
// "catalog/<tree-id>.yaml" in error messages.
func DefaultTrees() ([]*Tree, error) {
	entries, err := fs.Glob(catalogFS, "catalog/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(entries)
	return parseEach(len(entries), func(i int) (*Tree, error) {
		data, err := catalogFS.ReadFile(entries[i])
		if err != nil {
			return nil, err
		}
		return Parse(data, path.Join("attacktrees", entries[i]))
	}, nil)
}

// parseEach parses n files with parse, spread over the cores (YAML parsing is most of loading
// a large catalog), and returns the trees in file order, or every file's errors in file order
// after those already in all.
func parseEach(n int, parse func(i int) (*Tree, error), all Errors) ([]*Tree, error) {
	trees := make([]*Tree, n)
	errs := make([]error, n)
	next := atomic.Int64{}
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				trees[i], errs[i] = parse(i)
			}
		})
	}
	wg.Wait()
	out := trees[:0]
	for i, t := range trees {
		if errs[i] != nil {
			all = appendErr(all, errs[i])
			continue
		}
		out = append(out, t)
	}
	if len(all) > 0 {
		return nil, all
	}
	return out, nil
}

// Default returns the embedded CNCF catalog as one graph.
func Default() (*Catalog, error) {
	trees, err := DefaultTrees()
	if err != nil {
		return nil, err
	}
	return Build(trees)
}

// ReadPaths parses tree files from files and folders (folders recursively, *.yaml and *.yml, in
// lexical order). Every file's errors are collected before returning.
func ReadPaths(paths ...string) ([]*Tree, error) {
	var files []string
	var all Errors
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			all = append(all, &Error{File: p, Msg: fmt.Sprintf("cannot read trees: %v", err)})
			continue
		}
		if !info.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(file string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(file))
			if !d.IsDir() && (ext == ".yaml" || ext == ".yml") {
				found = append(found, file)
			}
			return nil
		})
		if err != nil {
			all = append(all, &Error{File: p, Msg: fmt.Sprintf("cannot read trees: %v", err)})
		}
		if len(found) == 0 && err == nil {
			all = append(all, &Error{File: p, Msg: "folder holds no .yaml tree files: check the path"})
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return parseEach(len(files), func(i int) (*Tree, error) { return ReadFile(files[i]) }, all)
}

// Load builds the catalog the CLI analyses: the embedded catalog, plus or instead of the trees
// under paths according to mode.
func Load(mode Mode, paths ...string) (*Catalog, error) {
	var trees []*Tree
	switch mode {
	case ModeAdd, "":
		def, err := DefaultTrees()
		if err != nil {
			return nil, err
		}
		trees = def
	case ModeReplace:
		if len(paths) == 0 {
			return nil, errors.New("--trees-mode replace needs at least one --trees path")
		}
	default:
		return nil, fmt.Errorf("unknown trees mode %q: use add or replace", mode)
	}
	if len(paths) > 0 {
		user, err := ReadPaths(paths...)
		if err != nil {
			return nil, err
		}
		trees = append(trees, user...)
	}
	return Build(trees)
}

// Validate checks tree files as `threatcov trees validate` does: each file on its own, then
// together, with subtree targets that none of them defines resolved against the embedded
// catalog (a file that redefines a catalog tree replaces it).
func Validate(paths ...string) (*Catalog, error) {
	user, err := ReadPaths(paths...)
	if err != nil {
		return nil, err
	}
	def, err := DefaultTrees()
	if err != nil {
		return nil, err
	}
	given := map[string]bool{}
	nodeIDs := map[string]bool{}
	for _, t := range user {
		given[t.ID] = true
		for _, n := range t.Nodes {
			nodeIDs[n.ID] = true
		}
	}
	trees := user
	for _, t := range def {
		if given[t.ID] || sharesNodeID(t, nodeIDs) {
			continue
		}
		trees = append(trees, t)
	}
	return Build(trees)
}

func sharesNodeID(t *Tree, ids map[string]bool) bool {
	for _, n := range t.Nodes {
		if ids[n.ID] {
			return true
		}
	}
	return false
}

func appendErr(all Errors, err error) Errors {
	var es Errors
	var e *Error
	switch {
	case errors.As(err, &es):
		return append(all, es...)
	case errors.As(err, &e):
		return append(all, e)
	default:
		return append(all, &Error{Msg: err.Error()})
	}
}
