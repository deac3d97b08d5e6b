#!/usr/bin/env bash
# Builds kube-apiserver from the tools/kube-apiserver module into .cache/bin (go-tool-build.sh:
# only when the module, the scripts or the toolchain changed). The integration tests
# (internal/testcluster) find the binary there.
#
# Usage: scripts/cluster-build.sh [--force]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="v1.37.2"
pkg="k8s.io/component-base/version"
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=37 -X $pkg.gitTreeState=clean"
exec bash "$root/scripts/go-tool-build.sh" kube-apiserver "$root/tools/kube-apiserver" \
	k8s.io/kubernetes/cmd/kube-apiserver "$ldflags" --version "${BASH_SOURCE[0]}" "${1:-}"
