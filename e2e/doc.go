// Package e2e holds end-to-end tests that drive the real `threatcov serve` binary in headless
// Chromium (through chromedp and the DevTools protocol). It has no code of its own.
//
// The tests build cmd/threatcov, start it on a free loopback port with a real analysis (the
// embedded catalog and testdata/policies), and use the pages as a user would. They need
// /usr/bin/chromium (scripts/e2e-deps.sh installs it, or set THREATCOV_CHROMIUM); without it
// they skip, except under CI (env CI set), where a missing browser fails the run. They never
// touch anything but loopback.
package e2e
