#!/usr/bin/env bash
# bench/scale.sh: how the cost of `threatcov analyze` grows (issue 8, item 5), one run per point:
#  - catalog size: the embedded CNCF catalog plus K-1 renamed copies (bench/cmd/scalegen), with
#    the example policy set;
#  - evaluations: the example on the CNCF catalog in N namespaces (each mapped probe is
#    evaluated against each relevant policy in each namespace, so evaluations grow as N).
# Prints a markdown table of wall time, CPU time (user+sys) and peak RSS; also saved to
# .cache/bench/scale.md.
#
# Environment: SCALE_K (catalog factors, default "1 10 100"; 1000 takes a few minutes),
# SCALE_NS (default "1 10 100"),
# EXAMPLE (default examples/platform), TIMEOUT per run (default 600s).
set -euo pipefail

cd "$(dirname "$0")/.."
SCALE_K=${SCALE_K:-1 10 100}
SCALE_NS=${SCALE_NS:-1 10 100}
EXAMPLE=${EXAMPLE:-examples/platform}
TIMEOUT=${TIMEOUT:-600}
CACHE=$PWD/.cache/bench
WORK=$CACHE/work/scale
OUT=$CACHE/scale.md
mkdir -p "$WORK"

go build -o "$CACHE/threatcov" ./cmd/threatcov
go build -o "$CACHE/scalegen" ./bench/cmd/scalegen
TC=$CACHE/threatcov

measure() { # label args... -> one table row
	local label=$1
	shift
	local t
	t=$(mktemp)
	if timeout "$TIMEOUT" /usr/bin/time -f '%e %U %S %M' -o "$t" "$TC" "$@" >/dev/null 2>&1; then
		read -r wall user sys rss <"$t"
		printf '| %s | %.2f s | %.2f s | %d MiB |\n' "$label" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN{print u+s}')" $((rss / 1024))
	else
		printf '| %s | > %s s (timeout or error) | | |\n' "$label" "$TIMEOUT"
	fi
	rm -f "$t"
}

{
	echo "## analyze at scale ($(date -u +%Y-%m-%dT%H:%MZ); $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
	echo
	echo "| input | wall | CPU | peak RSS |"
	echo "|---|---:|---:|---:|"
} | tee "$OUT"

for k in $SCALE_K; do
	dir=$WORK/catalog-x$k
	rm -rf "$dir"
	if ((k > 1)); then
		"$CACHE/scalegen" -k "$k" "$dir" 2>/dev/null
		measure "catalog x$k ($((6 * k)) trees), $EXAMPLE, 1 namespace" analyze --policies "$EXAMPLE" --namespace apps --trees "$dir" -o json | tee -a "$OUT"
	else
		measure "catalog x1 (6 trees), $EXAMPLE, 1 namespace" analyze --policies "$EXAMPLE" --namespace apps -o json | tee -a "$OUT"
	fi
done

for n in $SCALE_NS; do
	args=()
	for ((i = 1; i <= n; i++)); do args+=(--namespace "ns$i"); done
	measure "catalog x1, $EXAMPLE, $n namespaces" analyze --policies "$EXAMPLE" "${args[@]}" -o json | tee -a "$OUT"
done
