package mapping

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLibraries checks that every public policy the default mapping names has a source, and,
// with local checkouts of the libraries (THREATCOV_GATEKEEPER_LIBRARY,
// THREATCOV_KYVERNO_POLICIES), that each source folder exists there and ships that policy.
func TestLibraries(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]bool{}
	for _, e := range m.Steps {
		for _, ref := range e.Policies {
			if strings.HasPrefix(ref, "gatekeeper:") || strings.HasPrefix(ref, "kyverno:") {
				refs[ref] = true
			}
		}
	}
	if len(refs) == 0 {
		t.Fatal("the default mapping names no gatekeeper or kyverno policy")
	}
	roots := map[string]string{"gatekeeper": os.Getenv("THREATCOV_GATEKEEPER_LIBRARY"), "kyverno": os.Getenv("THREATCOV_KYVERNO_POLICIES")}
	for ref := range refs {
		src, ok := LibrarySource(ref)
		if !ok {
			t.Errorf("%s: no public source in mapping/libraries.yaml", ref)
			continue
		}
		engine, name, _ := strings.Cut(ref, ":")
		root := roots[engine]
		if root == "" {
			continue
		}
		// The folder must hold a file that defines the policy: the template's kind or the
		// policy's name.
		want := "kind: " + name
		if engine == "kyverno" {
			want = "name: " + name
		}
		out, err := exec.Command("grep", "-rlx", "--include=*.yaml", "[[:space:]]*"+want, filepath.Join(root, src.Path)).Output()
		if err != nil || len(out) == 0 {
			t.Errorf("%s: %s does not define %q in %s", ref, src.Path, want, root)
		}
	}
}
