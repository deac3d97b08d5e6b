#!/usr/bin/env bash
# Builds a Go program from one of the project's tools/ modules into .cache/bin, only when the
# cached binary is missing or was built from a different go.mod/go.sum, build script or Go
# toolchain. cluster-build.sh (kube-apiserver) and kyverno-build.sh (the kyverno CLI) call it:
# each tool keeps its own module, so its Kubernetes line and dependencies never reach
# threatcov's go.mod.
#
# Usage: scripts/go-tool-build.sh NAME MODULE-DIR PACKAGE LDFLAGS VERSION-ARGS CALLER [--force]
#   VERSION-ARGS: how the binary prints its version ("--version", "version").
#   CALLER: the calling script, whose content is part of the cache key.
set -euo pipefail

name=$1 tools=$2 pkg=$3 ldflags=$4 version_args=$5 caller=$6 force=${7:-}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$root/.cache/bin"
bin="$bin_dir/$name"
stamp="$bin.key"

# The key covers everything that decides the binary: the pinned module graph, the scripts
# (flags, ldflags) and the Go toolchain.
key="$(cat "$tools/go.mod" "$tools/go.sum" "$caller" "${BASH_SOURCE[0]}" <(go version) | sha256sum | cut -d' ' -f1)"
show_version() {
	# shellcheck disable=SC2086 # VERSION-ARGS is split on purpose
	"$bin" $version_args 2>/dev/null | head -n 1 || true
}

if [[ "$force" != "--force" && -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
	echo "$name: $bin is up to date ($(show_version))"
	exit 0
fi

mkdir -p "$bin_dir"
echo "$name: building $pkg (takes minutes on a cold Go cache)..."
start=$(date +%s)
(
	cd "$tools"
	# -mod=readonly: a stale go.sum must fail the build, not be rewritten silently.
	CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags "$ldflags" -o "$bin.tmp" "$pkg"
)
mv "$bin.tmp" "$bin"
echo "$key" > "$stamp"
echo "$name: built $bin in $(( $(date +%s) - start ))s ($(show_version))"
