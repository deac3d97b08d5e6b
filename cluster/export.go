package cluster

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/threatcov/threatcov/internal/atomicfile"
	"github.com/threatcov/threatcov/policies"
)

// exportHeader starts every file Export writes; Export removes files starting with it that
// the new snapshot no longer has, and never touches other files.
const exportHeader = "# threatcov policies export"

// Export writes objs (as Read returns them) into dir, one YAML file per object, named
// "<group>_<kind>_<namespace>_<name>.yaml" in lower case ("core" for the core group, the
// namespace part left out for cluster-scoped objects), which policies.Load reads back to the
// same inventory. Each file is written atomically. Files of an earlier export that the
// cluster no longer has are removed, so the folder is a snapshot, not an accumulation. It
// returns the paths written, sorted.
func Export(dir string, objs []policies.Object) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	written := map[string]bool{}
	var paths []string
	for _, o := range objs {
		name, err := exportName(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.Source, err)
		}
		if written[name] {
			return nil, fmt.Errorf("%s: two objects export to %s", o.Source, name)
		}
		written[name] = true
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "%s from %s\n", exportHeader, o.Source.File)
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2) // as kubectl writes YAML
		if err := enc.Encode(o.Object); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Source, err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Source, err)
		}
		path := filepath.Join(dir, name)
		if err := atomicfile.WriteBytes(path, buf.Bytes()); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() || written[e.Name()] || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if stale, err := exported(path); err != nil {
			return nil, err
		} else if stale {
			if err := os.Remove(path); err != nil {
				return nil, err
			}
		}
	}
	sort.Strings(paths)
	return paths, nil
}

// exported reports whether path was written by Export.
func exported(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 1024)).ReadBytes('\n')
	if err != nil && err != io.EOF {
		return false, err
	}
	return bytes.HasPrefix(line, []byte(exportHeader+" ")), nil
}

func exportName(obj map[string]any) (string, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	md, _ := obj["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	ns, _ := md["namespace"].(string)
	if kind == "" || name == "" {
		return "", fmt.Errorf("object without kind or name")
	}
	g := "core"
	if i := strings.Index(apiVersion, "/"); i >= 0 {
		g = apiVersion[:i]
	}
	parts := []string{g, kind}
	if ns != "" {
		parts = append(parts, ns)
	}
	parts = append(parts, name)
	for _, p := range parts {
		// Kubernetes names, kinds and groups never hold these; refuse rather than write
		// outside dir.
		if strings.ContainsAny(p, `/\_`) || p == "." || p == ".." {
			return "", fmt.Errorf("unexpected character in %q", p)
		}
	}
	return strings.ToLower(strings.Join(parts, "_")) + ".yaml", nil
}
