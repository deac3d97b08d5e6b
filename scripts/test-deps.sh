#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine, and nothing that is already
# there: SCRAM (the analyzer's independent minimal-cut-set oracle), etcd and a kube-apiserver
# built from k8s.io/kubernetes (the live-cluster tests), the kyverno CLI (which executes Kyverno
# policies), Chromium (the serve end-to-end tests), actionlint and shellcheck (the CI workflows
# and the GitHub Action, e2e/ci_test.go).
# Idempotent; quick when everything is present. Used by `make test` and .ci/run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)

missing=()
command -v scram >/dev/null || missing+=(scram)
command -v etcd >/dev/null || missing+=(etcd-server)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v shellcheck >/dev/null || missing+=(shellcheck)
if ((${#missing[@]})); then
	echo "test-deps: installing ${missing[*]}"
	"${sudo_cmd[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# actionlint, pinned, built through the Go module proxy into .cache/bin (not a dependency of
# threatcov's go.mod); e2e/ci_test.go looks for it there.
actionlint_version=v1.7.12
actionlint="$root/.cache/bin/actionlint"
if [[ ! -x $actionlint || $("$actionlint" -version 2>/dev/null | head -n 1) != "$actionlint_version" ]]; then
	echo "test-deps: installing actionlint $actionlint_version"
	GOBIN="$root/.cache/bin" GOFLAGS=-mod=mod go install "github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version"
fi
for s in cluster-deps.sh e2e-deps.sh; do
	[[ -x "$root/scripts/$s" || -f "$root/scripts/$s" ]] && bash "$root/scripts/$s"
done
bash "$root/scripts/cluster-build.sh"
bash "$root/scripts/kyverno-build.sh"
