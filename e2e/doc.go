// Package e2e holds end-to-end tests. It has no code of its own.
//
// The red-team suite (redteam_test.go, redteam/) runs realistic policy sets, each with one hole
// or none, through pipeline.Run with real OPA and real Pod Security admission, and checks the
// status a correct engine gives the steps each set affects (docs/semantics.md). A set fails
// with its node, the expected and actual status, and the engine's explanation; a step reported
// blocked where the set expects an attacker to get through is marked as a false green.
// redteam/README.md describes a set and its expect.yaml.
//
// The browser tests drive headless Chromium (through chromedp and the DevTools protocol); they
// do not build or run the threatcov binary. TestServeInBrowser starts serve's Server in the test
// process, on a free loopback port the kernel picks, with the analysis `threatcov serve` runs
// (pipeline.Run over the embedded catalog and a temporary copy of a testdata/policies file, through
// serve.Pipeline), and uses the pages as a user would, editing a policy file to see the page
// update. TestTreeSVGInBrowser renders every catalog tree with reports.TreeSVG, serves the
// drawings from an in-process test server, and measures them in the browser. They need
// /usr/bin/chromium (scripts/e2e-deps.sh installs it, or set THREATCOV_CHROMIUM); without it
// they skip, except under CI (env CI set), where a missing browser fails the run. They never
// touch anything but loopback.
//
// The CI tests (ci_test.go) check docs/ci.md and action.yml as a team adopting them would run
// them: actionlint (pinned, .cache/bin, from scripts/test-deps.sh) on every GitHub workflow of
// the page beside the action, shellcheck on the action's scripts, the GitLab job against
// GitLab's CI schema (testdata/gitlab-ci/), and TestCIDayOne runs the page's day-one command and
// the action's own scripts on the example laid out as a team's repository, with a stand-in for
// the GitHub CLI that keeps the pull request's comments as files: the gate passes on the first
// run, fails when a constraint switches to dryrun, and keeps one comment edited in place. A
// missing tool skips with the remedy, and fails under CI.
package e2e
