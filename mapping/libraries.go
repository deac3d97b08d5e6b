package mapping

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed libraries.yaml
var librariesYAML []byte

// Source is where a policy reference comes from: the public library that ships it.
type Source struct {
	Library string // e.g. "open-policy-agent/gatekeeper-library"
	Path    string // the policy's folder in the library
	URL     string // the folder at the pinned commit
}

func (s Source) String() string { return fmt.Sprintf("%s %s (%s)", s.Library, s.Path, s.URL) }

type libraryIndex struct {
	Libraries map[string]struct {
		Repository string `yaml:"repository"`
		Commit     string `yaml:"commit"`
	} `yaml:"libraries"`
	Policies map[string]string `yaml:"policies"`
}

var libraries = sync.OnceValues(func() (*libraryIndex, error) {
	var idx libraryIndex
	if err := yaml.Unmarshal(librariesYAML, &idx); err != nil {
		return nil, fmt.Errorf("mapping/libraries.yaml: %w", err)
	}
	return &idx, nil
})

// LibrarySource returns the public library that ships the policy a reference names
// (gatekeeper:KIND, kyverno:NAME), from mapping/libraries.yaml; false for references with no
// public source (konstraint packages, policies of a team's own), which are never recommended
// for deployment.
func LibrarySource(ref string) (Source, bool) {
	idx, err := libraries()
	if err != nil {
		panic(err) // an embedded file; TestLibraries keeps it valid
	}
	path, ok := idx.Policies[ref]
	if !ok {
		return Source{}, false
	}
	engine, _, _ := strings.Cut(ref, ":")
	lib := idx.Libraries[engine]
	repo := lib.Repository
	return Source{Library: strings.TrimPrefix(repo, "https://github.com/"), Path: path, URL: repo + "/tree/" + lib.Commit + "/" + path}, true
}
