package probes

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/threatcov/threatcov/internal/hostiletest"
)

// FuzzProbeFamily feeds arbitrary bytes to the probe family loader (parseFamily, then
// expansion into variants and the check against k8s.io/api types) and to the base Pod reader.
func FuzzProbeFamily(f *testing.F) {
	files, err := fs.Glob(defaultProbeFS, "families/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := defaultProbeFS.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"apiVersion: v1\nkind: Pod\n",
		"apiVersion: v1\nkind: Pod\nspec: 3\n",
		"apiVersion: v1\nkind: Pod\nspec: {containers: [3]}\n",
		"name: x\ndescription: d\nscope: pod\nattack: {pod: {metadata: null, spec: {containers: [{name: a}]}}}\nalternatives: [{name: b, attack: {pod: {metadata: 7}}}]\n",
		"name: x\ndescription: d\nscope: container\nattack: {container: {ports: [{containerPort: 1}]}}\n---\nname: y\n",
		"name: x\ndescription: d\nscope: object\nobjects: [{name: a, object: {apiVersion: v1, kind: Service, spec: {ports: 3}}}]\n",
	} {
		f.Add([]byte(s))
	}
	base, err := readBase(defaultProbeFS, "families/"+baseFileName, nil)
	if err != nil {
		f.Fatal(err)
	}
	const name = "fuzz/probe.yaml"
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := readBase(nil, name, data); err != nil {
			checkLinesName(t, err, name)
		}
		fam, err := parseFamily(name, data, base)
		if err != nil {
			checkLinesName(t, err, name)
			return
		}
		ps, err := expandFamilies([]*probeFamily{fam}, true)
		if err != nil {
			checkLinesName(t, err, name)
			return
		}
		for _, p := range ps {
			if p.File != name || p.Object == nil || !strings.HasPrefix(p.Name, fam.Name+"/") {
				t.Fatalf("probe %s from %s has no object or a name outside its family %s", p.Name, p.File, fam.Name)
			}
		}
	})
}

// checkLinesName is hostiletest.LinesName, and a ProbeError must name the file too.
func checkLinesName(t *testing.T, err error, file string) {
	t.Helper()
	var pe *ProbeError
	if errors.As(err, &pe) && pe.File != file {
		t.Fatalf("ProbeError names %q, want %q: %v", pe.File, file, err)
	}
	hostiletest.LinesName(t, err, file)
}
