#!/usr/bin/env bash
# Builds the kyverno CLI from the tools/kyverno module into .cache/bin (go-tool-build.sh: only
# when the module, the scripts or the toolchain changed). threatcov runs it as a subprocess to
# execute Kyverno policies (docs/policies.md, "Kyverno: executed by the kyverno CLI"); the
# tests find it there.
#
# The module pins github.com/kyverno/kyverno and repeats its replace directive (its fork of
# k8s.io/pod-security-admission): `go install pkg@version` refuses a module with replaces, so
# the CLI cannot be installed that way.
#
# Usage: scripts/kyverno-build.sh [--force]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="v1.19.1"
ldflags="-s -w -X github.com/kyverno/kyverno/pkg/version.BuildVersion=$version"
exec bash "$root/scripts/go-tool-build.sh" kyverno "$root/tools/kyverno" \
	github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno "$ldflags" version "${BASH_SOURCE[0]}" "${1:-}"
