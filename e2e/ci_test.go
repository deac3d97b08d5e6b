package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/threatcov/threatcov/internal/testenv"
	"github.com/threatcov/threatcov/reports"
)

// The CI set-up of docs/ci.md and the GitHub Action of action.yml, checked as a team adopting
// them would run them: the workflows through actionlint, the action's scripts through
// shellcheck, the GitLab job against GitLab's CI schema, and the commands on the example.

const repoRoot = ".."

// docBlock is a fenced yaml block of docs/ci.md and the file its first line names.
type docBlock struct {
	file string // e.g. ".github/workflows/threatcov.yaml", ".gitlab-ci.yml"
	body string
	line int
}

func ciDocBlocks(t *testing.T) []docBlock {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "docs", "ci.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []docBlock
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```yaml" {
			continue
		}
		start := i + 1
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			body = append(body, lines[i])
		}
		b := docBlock{body: strings.Join(body, "\n") + "\n", line: start + 1}
		if len(body) > 0 {
			b.file = strings.TrimSpace(strings.TrimPrefix(body[0], "#"))
		}
		out = append(out, b)
	}
	return out
}

func blocksOf(t *testing.T, prefix string) []docBlock {
	t.Helper()
	var out []docBlock
	for _, b := range ciDocBlocks(t) {
		if strings.HasPrefix(b.file, prefix) {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		t.Fatalf("docs/ci.md has no yaml block whose first line names %s", prefix)
	}
	return out
}

// actionlintPath is the pinned actionlint scripts/test-deps.sh installs, or one on PATH.
func actionlintPath(t *testing.T) string {
	t.Helper()
	p := filepath.Join(repoRoot, ".cache", "bin", "actionlint")
	if _, err := os.Stat(p); err == nil {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	return testenv.LookPath(t, "run scripts/test-deps.sh (it installs the pinned actionlint into .cache/bin)", "actionlint")
}

// TestCIWorkflowsActionlint lints every GitHub workflow of docs/ci.md with actionlint (and the
// shellcheck it runs on each run: script), beside the repository's action.yml and a workflow
// that uses it, so actionlint also checks the inputs given to the action against its metadata.
func TestCIWorkflowsActionlint(t *testing.T) {
	actionlint := actionlintPath(t)
	shellcheck := testenv.LookPath(t, "apt-get install shellcheck (scripts/test-deps.sh does)", "shellcheck")
	dir := t.TempDir()
	// actionlint finds the project by its .git folder; it needs nothing inside.
	for _, d := range []string{".git", ".github/workflows"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	action, err := os.ReadFile(filepath.Join(repoRoot, "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "action.yml"), action, 0o644); err != nil {
		t.Fatal(err)
	}
	var files []string
	for i, b := range blocksOf(t, ".github/workflows/") {
		name := fmt.Sprintf(".github/workflows/docs-ci-md-line-%d.yaml", b.line)
		body := b.body
		if i == 0 {
			// The documented one-line adoption, pointed at the action in this checkout.
			body = strings.Replace(body, "uses: threatcov/threatcov@v0.1.0", "uses: ./", 1)
			if body == b.body {
				t.Fatalf("docs/ci.md:%d: the first workflow does not use threatcov/threatcov@v0.1.0", b.line)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	cmd := exec.Command(actionlint, append([]string{"-shellcheck", shellcheck, "-no-color"}, files...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("actionlint on the workflows of docs/ci.md (file names give the line of the block): %v\n%s", err, out)
	}

	// The lint can fail: a misspelt input of the action is caught.
	bad := strings.Replace(string(mustRead(t, filepath.Join(dir, files[0]))), "policies: policies/", "polices: policies/", 1)
	if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd = exec.Command(actionlint, "-shellcheck", shellcheck, "-no-color", "bad.yaml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), `input "polices" is not defined`) {
		t.Errorf("actionlint passed a workflow giving the action an undefined input: %v\n%s", err, out)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// actionMeta is the part of action.yml the tests read.
type actionMeta struct {
	Inputs map[string]struct {
		Required bool   `yaml:"required"`
		Default  string `yaml:"default"`
	} `yaml:"inputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

type actionStep struct {
	ID    string            `yaml:"id"`
	Name  string            `yaml:"name"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	If    string            `yaml:"if"`
}

func loadAction(t *testing.T) (actionMeta, string) {
	t.Helper()
	data := mustRead(t, filepath.Join(repoRoot, "action.yml"))
	var a actionMeta
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a, string(data)
}

func (a actionMeta) step(t *testing.T, name string) actionStep {
	t.Helper()
	for _, s := range a.Runs.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("action.yml has no step %q", name)
	return actionStep{}
}

var inputRef = regexp.MustCompile(`inputs\.([a-zA-Z0-9_-]+)`)

// TestActionMetadata checks what actionlint does not for an action's own file: a composite
// action whose run steps name their shell, scripts that take every value from the environment
// (an expression inside a script is shell injection), inputs that exist, and the comment
// marker threatcov diff writes.
func TestActionMetadata(t *testing.T) {
	a, text := loadAction(t)
	if a.Runs.Using != "composite" {
		t.Errorf("runs.using %q, want composite", a.Runs.Using)
	}
	for _, s := range a.Runs.Steps {
		if s.Run != "" && s.Shell == "" {
			t.Errorf("step %q: a composite run step needs shell", s.Name)
		}
		if strings.Contains(s.Run, "${{") {
			t.Errorf("step %q: an expression inside the script; pass it through env", s.Name)
		}
	}
	for _, m := range inputRef.FindAllStringSubmatch(text, -1) {
		if _, ok := a.Inputs[m[1]]; !ok {
			t.Errorf("action.yml uses inputs.%s, which it does not declare", m[1])
		}
	}
	if !a.Inputs["version"].Required {
		t.Errorf("input version is not required: the action must install a pinned threatcov")
	}
	if !strings.Contains(text, "marker='"+reports.DiffMarker+"'") {
		t.Errorf("the comment step does not look for the marker %s that threatcov diff writes", reports.DiffMarker)
	}
}

// TestActionScriptsShellcheck runs shellcheck on every script of action.yml, as bash.
func TestActionScriptsShellcheck(t *testing.T) {
	shellcheck := testenv.LookPath(t, "apt-get install shellcheck (scripts/test-deps.sh does)", "shellcheck")
	a, _ := loadAction(t)
	dir := t.TempDir()
	for i, s := range a.Runs.Steps {
		if s.Run == "" {
			continue
		}
		p := filepath.Join(dir, fmt.Sprintf("step-%d.sh", i))
		var env strings.Builder
		for k := range s.Env {
			// The runner sets these; declare them so shellcheck knows they are not typos.
			fmt.Fprintf(&env, ": \"${%s:?}\"\n", k)
		}
		if err := os.WriteFile(p, []byte("#!/usr/bin/env bash\n"+env.String()+s.Run), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(shellcheck, "-s", "bash", "-S", "style", p).CombinedOutput(); err != nil {
			t.Errorf("action.yml step %q: shellcheck: %v\n%s", s.Name, err, out)
		}
	}
}

// TestGitLabJobSchema validates the GitLab job of docs/ci.md against GitLab's CI schema
// (testdata/gitlab-ci/, with its licence).
func TestGitLabJobSchema(t *testing.T) {
	c := jsonschema.NewCompiler()
	schemaFile := filepath.Join("testdata", "gitlab-ci", "ci.json")
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(mustRead(t, schemaFile)))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("https://gitlab.com/.gitlab-ci.yml", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("https://gitlab.com/.gitlab-ci.yml")
	if err != nil {
		t.Fatalf("compile %s: %v", schemaFile, err)
	}
	validate := func(name, body string) error {
		var v any
		if err := yaml.Unmarshal([]byte(body), &v); err != nil {
			return err
		}
		js, err := json.Marshal(v)
		if err != nil {
			return err
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
		if err != nil {
			return err
		}
		return sch.Validate(inst)
	}
	for _, b := range blocksOf(t, ".gitlab-ci.yml") {
		if err := validate(b.file, b.body); err != nil {
			t.Errorf("docs/ci.md:%d: the GitLab job does not match GitLab's CI schema: %v", b.line, err)
		}
		// The validation can fail: a misspelt keyword is refused.
		if err := validate(b.file, strings.Replace(b.body, "artifacts:", "artefacts:", 1)); err == nil {
			t.Errorf("the schema accepted a job with artefacts:")
		}
	}
}
