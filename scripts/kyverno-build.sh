#!/usr/bin/env bash
# Builds the kyverno CLI from the tools/kyverno module into .cache/bin, only when the cached
# binary is missing or was built from a different go.mod/go.sum, build script or Go toolchain.
# threatcov runs it as a subprocess to execute Kyverno policies (docs/policies.md, "Kyverno:
# executed by the kyverno CLI"); the tests find it there.
#
# The module pins github.com/kyverno/kyverno and repeats its replace directive (its fork of
# k8s.io/pod-security-admission): `go install pkg@version` refuses a module with replaces, so
# the CLI cannot be installed that way.
#
# Usage: scripts/kyverno-build.sh [--force]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/tools/kyverno"
bin_dir="$root/.cache/bin"
bin="$bin_dir/kyverno"
stamp="$bin.key"
version="v1.19.1"

key="$(cat "$tools/go.mod" "$tools/go.sum" "${BASH_SOURCE[0]}" <(go version) | sha256sum | cut -d' ' -f1)"

if [[ "${1:-}" != "--force" && -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
	echo "kyverno-build: $bin is up to date ($("$bin" version 2>/dev/null | head -1))"
	exit 0
fi

mkdir -p "$bin_dir"
echo "kyverno-build: building the kyverno CLI $version (takes many minutes on a cold Go cache)..."
start=$(date +%s)
ldflags="-s -w -X github.com/kyverno/kyverno/pkg/version.BuildVersion=$version"
(
	cd "$tools"
	# -mod=readonly: a stale go.sum must fail the build, not be rewritten silently.
	CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags "$ldflags" \
		-o "$bin.tmp" github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno
)
mv "$bin.tmp" "$bin"
echo "$key" > "$stamp"
echo "kyverno-build: built $bin in $(( $(date +%s) - start ))s ($("$bin" version 2>/dev/null | head -1))"
