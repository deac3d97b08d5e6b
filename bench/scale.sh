#!/usr/bin/env bash
# bench/scale.sh: how the cost of `threatcov analyze` grows (issue 8, item 5), one run per point:
#  - catalog size: the embedded CNCF catalog plus K-1 renamed copies (bench/cmd/scalegen), with
#    the example policy set;
#  - evaluations: the example on the CNCF catalog in N namespaces (each mapped probe is
#    evaluated against each relevant policy in each namespace, so evaluations grow as N);
#  - policies and probes: a generated set (bench/cmd/setgen) of P Rego policies, probe families
#    totalling Q probe variants and a mapping that deals the catalog's leaves, the policies and
#    the families into 10 groups, so a run makes about P x Q / 10 evaluations (the row says how
#    many); P varies with Q fixed at SCALE_FIXED_PROBES, then Q varies with P fixed at
#    SCALE_FIXED_POLICIES, in 1 namespace on the CNCF catalog;
#  - Gatekeeper templates: a generated set (setgen -kind gatekeeper) of T ConstraintTemplates,
#    each with one or two constraints (the row says how many), and SCALE_FIXED_PROBES probe
#    variants at the admission point: constraint match, workloads judged as their Pod,
#    input.review and one compiler per template.
# Prints a markdown table of wall time, CPU time (user+sys) and peak RSS; also saved to
# .cache/bench/scale.md.
#
# Environment: SCALE_K (catalog factors, default "1 10 100"; 1000 takes a few minutes),
# SCALE_NS (default "1 10 100"), SCALE_POLICIES (default "10 100 1000"), SCALE_PROBES (default
# "10 100 1000 10000"), SCALE_TEMPLATES (default "10 100 1000"), SCALE_FIXED_PROBES and SCALE_FIXED_POLICIES (default 100 each; the
# series skip what is set to ""),
# EXAMPLE (default examples/platform), TIMEOUT per run (default 600s), SCALE_OUT (the table,
# default .cache/bench/scale.md).
set -euo pipefail

cd "$(dirname "$0")/.."
SCALE_K=${SCALE_K-1 10 100}
SCALE_NS=${SCALE_NS-1 10 100}
SCALE_POLICIES=${SCALE_POLICIES-10 100 1000}
SCALE_PROBES=${SCALE_PROBES-10 100 1000 10000}
SCALE_TEMPLATES=${SCALE_TEMPLATES-10 100 1000}
SCALE_FIXED_PROBES=${SCALE_FIXED_PROBES:-100}
SCALE_FIXED_POLICIES=${SCALE_FIXED_POLICIES:-100}
EXAMPLE=${EXAMPLE:-examples/platform}
TIMEOUT=${TIMEOUT:-600}
CACHE=$PWD/.cache/bench
WORK=$CACHE/work/scale
OUT=${SCALE_OUT:-$CACHE/scale.md}
mkdir -p "$WORK"

go build -o "$CACHE/threatcov" ./cmd/threatcov
go build -o "$CACHE/scalegen" ./bench/cmd/scalegen
go build -o "$CACHE/setgen" ./bench/cmd/setgen
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

generated() { # series policies probes -> one table row
	local series=$1 p=$2 q=$3 dir=$WORK/set-p$2-q$3 evals
	evals=$("$CACHE/setgen" -policies "$p" -probes "$q" "$dir")
	measure "generated set, $series series: $p policies, $q probes ($evals evaluations), 1 namespace" analyze --policies "$dir/policies" --probes "$dir/probes" --mapping "$dir/mapping.yaml" --namespace apps -o json | tee -a "$OUT"
	rm -rf "$dir"
}

for p in $SCALE_POLICIES; do
	generated policy "$p" "$SCALE_FIXED_PROBES"
done
for q in $SCALE_PROBES; do
	generated probe "$SCALE_FIXED_POLICIES" "$q"
done

for t in $SCALE_TEMPLATES; do
	dir=$WORK/gk-t$t-q$SCALE_FIXED_PROBES
	counts=$("$CACHE/setgen" -kind gatekeeper -policies "$t" -probes "$SCALE_FIXED_PROBES" "$dir")
	read -r evals cons <<<"$counts"
	measure "generated set, template series: $t Gatekeeper templates ($cons constraints), $SCALE_FIXED_PROBES probes ($evals evaluations), 1 namespace" analyze --policies "$dir/policies" --probes "$dir/probes" --mapping "$dir/mapping.yaml" --namespace apps -o json | tee -a "$OUT"
	rm -rf "$dir"
done
