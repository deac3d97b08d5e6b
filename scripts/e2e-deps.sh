#!/usr/bin/env bash
# Installs what the browser end-to-end tests (e2e/, `threatcov serve` in headless Chromium) need:
# Debian's chromium and chromium-driver, and the chromedp Go module that drives the browser over
# the DevTools protocol. Idempotent: quick and offline when everything is present; runs
# apt-get update only when a package is missing.
#
# Usage: scripts/e2e-deps.sh      (the tests find /usr/bin/chromium, or THREATCOV_CHROMIUM)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for pkg in chromium chromium-driver; do
	installed "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]})); then
	sudo_cmd=()
	[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
	echo "e2e-deps: installing ${missing[*]} with apt-get"
	"${sudo_cmd[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The module cache may be cold on a fresh machine; go test would fetch it too, but fetching here
# keeps network access in the setup step. A no-op when cached.
(cd "$root" && go mod download github.com/chromedp/chromedp github.com/chromedp/cdproto)

# Debian's wrapper script prints shell noise on stderr for --version; the version is on stdout.
echo "e2e-deps: $(command -v chromium) ($(chromium --version 2>/dev/null | head -n1)), $(command -v chromedriver)"
