#!/usr/bin/env bash
# bench/paths.sh: threatcov's minimal path counting side by side with SCRAM (`scram --zbdd`,
# Debian package scram), whole-process, on the same Open-PSA models: SCRAM's biggest example
# models the importer accepts and the generated layered models of analyzer/paths/testdata
# (bench/cmd/pathgen; hundreds of gates, 10^5 to 10^6 minimal cut sets). The threatcov side is
# bench/cmd/pathcount (import + count, as `threatcov trees import` + analysis will do).
#
# Each model is first run once by both to check that the counts agree (the script stops if
# they do not); then bench/cmd/sidebyside alternates the two RUNS times and prints a markdown
# row: median wall and CPU (user+sys) time, ratio threatcov/scram, peak RSS.
#
# SCRAM always writes every minimal cut set into its XML report (to /dev/null here), so on
# models with millions of cut sets part of its time is output; threatcov only counts. SCRAM runs
# with --limit-order 1000000 so that it, like threatcov, keeps cut sets of every size.
#
# Environment: RUNS (default 5), WARMUP (untimed runs first, default 1), LARGE=1 adds a
# generated model with 2.3 million cut sets (minutes per run for both tools).
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
LARGE=${LARGE:-}
INPUT=/usr/share/scram/input

command -v scram >/dev/null || { echo "bench/paths.sh: scram is not on PATH: apt-get install -y scram" >&2; exit 2; }
[[ -d $INPUT ]] || { echo "bench/paths.sh: $INPUT missing: apt-get install -y scram" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
go build -o "$WORK/pathcount" ./bench/cmd/pathcount
go build -o "$WORK/pathgen" ./bench/cmd/pathgen
go build -o "$WORK/sidebyside" ./bench/cmd/sidebyside

# name | model file | extra files for SCRAM (basic-event data)
models=(
	"baobab1 (SCRAM example)|$INPUT/Baobab/baobab1.xml|$INPUT/Baobab/baobab1-basic-events.xml"
	"baobab2 (SCRAM example)|$INPUT/Baobab/baobab2.xml|$INPUT/Baobab/baobab2-basic-events.xml"
	"chinese (SCRAM example)|$INPUT/Chinese/chinese.xml|$INPUT/Chinese/chinese-basic-events.xml"
	"lift (SCRAM example)|$INPUT/Lift/lift.xml|"
)
for f in analyzer/paths/testdata/gen-150-300-10-1.xml analyzer/paths/testdata/gen-200-400-8-1.xml; do
	models+=("$(basename "$f" .xml) (generated)|$PWD/$f|")
done
if [[ -n $LARGE ]]; then
	"$WORK/pathgen" -gates 300 -events 600 -layers 10 -seed 1 >"$WORK/gen-300-600-10-1.xml"
	models+=("gen-300-600-10-1 (generated)|$WORK/gen-300-600-10-1.xml|")
fi

"$WORK/sidebyside" -header
for m in "${models[@]}"; do
	IFS='|' read -r name file extra <<<"$m"
	tc=$("$WORK/pathcount" "$file" | awk '{s += $2} END {print s}')
	scram --zbdd --limit-order 1000000 -o "$WORK/report.xml" "$file" $extra
	sc=$(grep -o 'products="[0-9]*"' "$WORK/report.xml" | tr -dc '0-9\n' | awk '{s += $1} END {print s}')
	rm -f "$WORK/report.xml"
	if [[ $tc != "$sc" ]]; then
		echo "bench/paths.sh: $name: threatcov counts $tc minimal cut sets, scram $sc" >&2
		exit 1
	fi
	"$WORK/sidebyside" -n "$RUNS" -warmup "$WARMUP" -ok 0 -name "$name: $tc minimal cut sets" \
		-cmd "threatcov=$WORK/pathcount $file" \
		-cmd "scram=scram --zbdd --limit-order 1000000 -o /dev/null $file $extra"
done
