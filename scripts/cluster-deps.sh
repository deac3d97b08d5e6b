#!/usr/bin/env bash
# Installs etcd (Debian's etcd-server) for the integration tests in internal/testcluster.
# Quick and offline when etcd is already on PATH; runs apt-get update only when it is not.
#
# Usage: scripts/cluster-deps.sh
set -euo pipefail

if command -v etcd >/dev/null 2>&1; then
	echo "cluster-deps: $(command -v etcd) present ($(etcd --version 2>/dev/null | head -n1))"
	exit 0
fi

sudo=""
if [[ "$(id -u)" != "0" ]]; then
	sudo="sudo"
fi
echo "cluster-deps: installing etcd-server with apt-get"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update
$sudo apt-get install -y --no-install-recommends etcd-server
echo "cluster-deps: installed $(command -v etcd) ($(etcd --version | head -n1))"
