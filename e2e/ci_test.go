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

// buildThreatcov builds the binary into dir/bin and returns that folder.
func buildThreatcov(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "bin")
	cmd := exec.Command("go", "build", "-o", filepath.Join(bin, "threatcov"), "./cmd/threatcov")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// fakeGH stands for the GitHub CLI, the one edge these tests cannot run: it keeps the pull
// request's comments as files in dir/comments and answers the three calls the action makes.
const fakeGH = `#!/usr/bin/env bash
set -euo pipefail
echo "$*" >> "$GH_FAKE/calls"
dir="$GH_FAKE/comments"
case "$*" in
  "api --paginate "*)
    for f in "$dir"/*.md; do
      [ -e "$f" ] || continue
      if [ "$(head -c ${#MARKER} "$f")" = "$MARKER" ]; then basename "$f" .md; fi
    done ;;
  "api -X PATCH "*)
    id="${4##*/}"; [ -e "$dir/$id.md" ] || { echo "no comment $id" >&2; exit 1; }
    cp "${6#body=@}" "$dir/$id.md" ;;
  "api -X POST "*)
    n=$(ls "$dir" | wc -l); cp "${6#body=@}" "$dir/$((n + 100)).md" ;;
  *) echo "fake gh: unexpected call: $*" >&2; exit 1 ;;
esac
`

// TestCIDayOne runs what docs/ci.md tells a team to do, on the example policy set laid out as
// their repository: the action's gate before any baseline (exit 2, with the command to write
// it), the baseline written by the command of "Day one", then the action's own scripts with the
// inputs of the documented workflow, the scripts of the workflow without the action, and the
// GitLab job's commands. The gate passes on the first run; a Gatekeeper constraint switched to dryrun fails it, with one
// pull-request comment that the next push edits in place; restored, the gate passes and the
// comment says nothing changed.
func TestCIDayOne(t *testing.T) {
	bash := testenv.LookPath(t, "install bash", "bash")
	dir := t.TempDir()
	bin := buildThreatcov(t, dir)
	repo := filepath.Join(dir, "repo")
	if err := os.CopyFS(filepath.Join(repo, "policies"), os.DirFS(filepath.Join(repoRoot, "examples", "platform"))); err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(dir, "gh")
	for _, d := range []string{filepath.Join(fake, "comments"), filepath.Join(dir, "fakebin"), filepath.Join(dir, "runner")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "fakebin", "gh"), []byte(fakeGH), 0o755); err != nil {
		t.Fatal(err)
	}
	// A reviewer's comment without the marker, which the action must leave alone.
	if err := os.WriteFile(filepath.Join(fake, "comments", "1.md"), []byte("LGTM once the gate passes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := bin + string(os.PathListSeparator) + filepath.Join(dir, "fakebin") + string(os.PathListSeparator) + os.Getenv("PATH")
	run := func(script string, env map[string]string) (string, error) {
		t.Helper()
		cmd := exec.Command(bash, "-c", script)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "PATH="+path, "RUNNER_TEMP="+filepath.Join(dir, "runner"), "GH_FAKE="+fake,
			"MARKER="+reports.DiffMarker, "GITHUB_REPOSITORY=team/platform")
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// The documented workflow's inputs, and the action's defaults for the rest.
	a, _ := loadAction(t)
	wf := blocksOf(t, ".github/workflows/")[0]
	var doc struct {
		Jobs map[string]struct {
			Steps []struct {
				Uses string            `yaml:"uses"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(wf.body), &doc); err != nil {
		t.Fatalf("docs/ci.md:%d: %v", wf.line, err)
	}
	with := map[string]string{}
	for _, j := range doc.Jobs {
		for _, s := range j.Steps {
			if strings.HasPrefix(s.Uses, "threatcov/threatcov@") {
				with = s.With
			}
		}
	}
	inputs := map[string]string{}
	for name, in := range a.Inputs {
		inputs[name] = in.Default
		if v, ok := with[name]; ok {
			inputs[name] = v
		}
	}
	stepEnv := func(s actionStep, extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range s.Env {
			if m := regexp.MustCompile(`^\$\{\{ inputs\.([a-z-]+) \}\}$`).FindStringSubmatch(v); m != nil {
				env[k] = inputs[m[1]]
			}
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	outputs := func(file string) map[string]string {
		m := map[string]string{}
		for _, line := range strings.Split(string(mustRead(t, file)), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok {
				m[k] = v
			}
		}
		return m
	}
	gate, comment, verdict := a.step(t, "Attack-path gate"), a.step(t, "Comment on the pull request"), a.step(t, "Verdict")

	// Before the baseline is committed the action stops with exit code 2 and the command that
	// writes it.
	noBase := filepath.Join(dir, "no-baseline.output")
	out, err := run(gate.Run, stepEnv(gate, map[string]string{"GITHUB_STEP_SUMMARY": filepath.Join(dir, "no-baseline.summary"), "GITHUB_OUTPUT": noBase}))
	if err != nil || outputs(noBase)["exit-code"] != "2" || !strings.Contains(out, "::error file=threatcov-baseline.json::no baseline at threatcov-baseline.json: write it on the main branch and commit it: threatcov baseline write threatcov-baseline.json --policies policies/") {
		t.Errorf("the gate without a baseline: %v, outputs %v:\n%s", err, outputs(noBase), out)
	}

	// Day one, step 2: the documented command writes the baseline.
	docs := string(mustRead(t, filepath.Join(repoRoot, "docs", "ci.md")))
	write := regexp.MustCompile("`(threatcov baseline write threatcov-baseline.json --policies policies/)`").FindStringSubmatch(docs)
	if write == nil {
		t.Fatal("docs/ci.md: Day one does not give `threatcov baseline write threatcov-baseline.json --policies policies/`")
	}
	if out, err := run(write[1], nil); err != nil {
		t.Fatalf("%s: %v\n%s", write[1], err, out)
	}

	push := func(round string, wantCode string) (summary string) {
		t.Helper()
		summaryFile, outFile := filepath.Join(dir, round+".summary"), filepath.Join(dir, round+".output")
		out, err := run(gate.Run, stepEnv(gate, map[string]string{"GITHUB_STEP_SUMMARY": summaryFile, "GITHUB_OUTPUT": outFile}))
		if err != nil {
			t.Fatalf("%s: the gate step failed itself: %v\n%s", round, err, out)
		}
		o := outputs(outFile)
		if o["exit-code"] != wantCode {
			t.Fatalf("%s: exit-code %q, want %s\n%s\n%s", round, o["exit-code"], wantCode, out, mustRead(t, summaryFile))
		}
		if _, err := os.Stat(o["sarif"]); err != nil {
			t.Errorf("%s: no SARIF report for the upload step: %v", round, err)
		}
		out, err = run(comment.Run, stepEnv(comment, map[string]string{"PR": "7", "REPORT": o["report"], "GH_TOKEN": "x"}))
		if err != nil {
			t.Fatalf("%s: the comment step: %v\n%s", round, err, out)
		}
		out, err = run(verdict.Run, map[string]string{"CODE": o["exit-code"]})
		if (err == nil) != (wantCode == "0") {
			t.Errorf("%s: the verdict step for exit code %s: %v\n%s", round, wantCode, err, out)
		}
		return string(mustRead(t, summaryFile))
	}
	comments := func() []string {
		entries, err := os.ReadDir(filepath.Join(fake, "comments"))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range entries {
			out = append(out, e.Name())
		}
		return out
	}

	// Day one: the gate passes and nothing changed, so no comment is written.
	if s := push("day-one", "0"); !strings.Contains(s, "threatcov gate PASSED") {
		t.Errorf("day one: the job summary does not say the gate passed:\n%s", s)
	}
	if got := comments(); len(got) != 1 {
		t.Errorf("day one: comments %v, want only the reviewer's", got)
	}

	// A change switches a constraint to dryrun: the gate fails and one comment says why.
	constraint := filepath.Join(repo, "policies", "gatekeeper", "container-deny-added-caps-constraint.yaml")
	original := mustRead(t, constraint)
	if err := os.WriteFile(constraint, bytes.Replace(original, []byte("\nspec:\n"), []byte("\nspec:\n  enforcementAction: dryrun\n"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if s := push("dryrun", "1"); !strings.Contains(s, "threatcov gate FAILED") {
		t.Errorf("dryrun: the job summary does not say the gate failed:\n%s", s)
	}
	got := comments()
	if len(got) != 2 {
		t.Fatalf("after the dryrun push: comments %v, want the reviewer's and one of threatcov", got)
	}
	ours := filepath.Join(fake, "comments", got[1])
	if body := string(mustRead(t, ours)); !strings.Contains(body, "## threatcov: 4 paths opened, 0 closed") {
		t.Errorf("the comment:\n%s", body)
	}
	// The next push edits the same comment.
	push("dryrun-again", "1")
	if again := comments(); len(again) != 2 {
		t.Errorf("a second push added a comment: %v", again)
	}
	// Restored: the gate passes, and the earlier comment now says nothing changed.
	if err := os.WriteFile(constraint, original, 0o644); err != nil {
		t.Fatal(err)
	}
	push("restored", "0")
	if body := string(mustRead(t, ours)); !strings.Contains(body, "## threatcov: no change in attack-path coverage") {
		t.Errorf("after restoring, the comment was not updated:\n%s", body)
	}
	calls := string(mustRead(t, filepath.Join(fake, "calls")))
	if n, m := strings.Count(calls, "api -X POST repos/team/platform/issues/7/comments"), strings.Count(calls, "api -X PATCH repos/team/platform/issues/comments/"); n != 1 || m != 2 {
		t.Errorf("GitHub API calls: %d POST, %d PATCH, want 1 and 2:\n%s", n, m, calls)
	}
	if body := string(mustRead(t, filepath.Join(fake, "comments", "1.md"))); body != "LGTM once the gate passes\n" {
		t.Errorf("the reviewer's comment was edited: %q", body)
	}

	// The workflows written without the action run their steps' scripts, but for installing
	// threatcov, and pass on the same repository.
	for _, b := range blocksOf(t, ".github/workflows/")[1:] {
		var wf struct {
			Jobs map[string]struct {
				Steps []struct {
					Name string `yaml:"name"`
					Run  string `yaml:"run"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal([]byte(b.body), &wf); err != nil {
			t.Fatalf("docs/ci.md:%d: %v", b.line, err)
		}
		ran := 0
		for _, j := range wf.Jobs {
			for _, step := range j.Steps {
				if step.Run == "" || strings.HasPrefix(step.Run, "go install ") {
					continue
				}
				ran++
				if out, err := run(step.Run, map[string]string{"GITHUB_STEP_SUMMARY": filepath.Join(dir, "plain.summary")}); err != nil {
					t.Errorf("docs/ci.md:%d: step %q: %v\n%s", b.line, step.Name, err, out)
				}
			}
		}
		if ran == 0 {
			t.Errorf("docs/ci.md:%d: the workflow ran no threatcov step", b.line)
		}
	}
	if s := string(mustRead(t, filepath.Join(dir, "plain.summary"))); !strings.Contains(s, "threatcov gate PASSED") {
		t.Errorf("the plain workflow's job summary:\n%s", s)
	}

	// The GitLab job's commands, but for installing threatcov, pass on the same repository.
	var gl map[string]struct {
		Script []string `yaml:"script"`
	}
	gb := blocksOf(t, ".gitlab-ci.yml")[0]
	if err := yaml.Unmarshal([]byte(gb.body), &gl); err != nil {
		t.Fatal(err)
	}
	for _, line := range gl["threatcov"].Script {
		if strings.HasPrefix(line, "go install ") {
			continue
		}
		if out, err := run(line, nil); err != nil {
			t.Errorf("docs/ci.md:%d: GitLab job: %s: %v\n%s", gb.line, line, err, out)
		}
	}
	for _, f := range []string{"threatcov.sarif", "threatcov-junit.xml", "threatcov.html"} {
		if _, err := os.Stat(filepath.Join(repo, f)); err != nil {
			t.Errorf("the GitLab job wrote no %s: %v", f, err)
		}
	}
}
