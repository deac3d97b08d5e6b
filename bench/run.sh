#!/usr/bin/env bash
# bench/run.sh (make bench): threatcov side by side with the tools users would run instead,
# whole-process, on the same inputs. Installs the anchors at pinned versions into
# .cache/bench/bin (Go tools) or from Debian, builds threatcov, writes every default probe as a
# file, then times each pair alternating run by run (bench/cmd/sidebyside) and prints a
# markdown table of medians and ratios threatcov/anchor, also saved to
# .cache/bench/results.md.
#
# Environment: RUNS (timed runs per command, default 7), WARMUP (default 1), EXAMPLE (policy
# set, default examples/platform), KYVERNO_POLICIES (the Kyverno set of the kyverno rows,
# default policies/testdata/kyverno), ONLY (space-separated subset of: conftest gator kyverno
# paths render analyze scale), NO_INSTALL=1 to use whatever anchors are already there. "scale" runs
# bench/scale.sh (how analyze's cost grows; its own SCALE_* variables apply) and appends its
# table.
#
# Ratios of CPU time (user+sys) are printed beside ratios of wall time: on a shared machine
# the wall time of a short process is mostly waiting for a core.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-7}
WARMUP=${WARMUP:-1}
EXAMPLE=${EXAMPLE:-examples/platform}
ONLY=${ONLY:-conftest gator kyverno paths render analyze scale}
KYVERNO_POLICIES=${KYVERNO_POLICIES:-policies/testdata/kyverno}
NS=apps

CONFTEST_VERSION=v0.71.1
GATEKEEPER_VERSION=v3.23.1
# Debian bookworm's versions; apt installs exactly these (the script stops if apt cannot).
SCRAM_DEB=0.16.2-3
GRAPHVIZ_DEB=2.42.2-7+deb12u1

CACHE=$ROOT/.cache/bench
BIN=$CACHE/bin
WORK=$CACHE/work
OUT=$CACHE/results.md
mkdir -p "$BIN" "$WORK"

log() { printf '%s\n' "$*" >&2; }
want() { [[ " $ONLY " == *" $1 "* ]]; }

# --- anchors ---------------------------------------------------------------------------------

install_go_tool() { # name module@version stamp
	local name=$1 mod=$2 stamp=$BIN/.$1-${2##*@}
	if [[ -x $BIN/$name && -f $stamp ]]; then return; fi
	log "installing $mod into $BIN (first run only; several minutes)"
	GOBIN=$BIN go install "$mod"
	rm -f "$BIN/.$name-"*
	touch "$stamp"
}

install_deb() { # package version command
	local have
	have=$(dpkg-query -W -f '${Version}' "$1" 2>/dev/null || true)
	if [[ $have == "$2" ]] && command -v "$3" >/dev/null; then return; fi
	log "installing Debian $1=$2 (have: ${have:-none})"
	if [[ $(id -u) == 0 ]]; then apt-get install -y "$1=$2" >&2; else sudo apt-get install -y "$1=$2" >&2; fi
}

if [[ ${NO_INSTALL:-} != 1 ]]; then
	want conftest && install_go_tool conftest "github.com/open-policy-agent/conftest@$CONFTEST_VERSION"
	want gator && install_go_tool gator "github.com/open-policy-agent/gatekeeper/v3/cmd/gator@$GATEKEEPER_VERSION"
	# The kyverno CLI cannot be go-installed (its module has replace directives): the project
	# builds it, as threatcov finds it, into .cache/bin.
	want kyverno && bash scripts/kyverno-build.sh >&2
	want paths && install_deb scram "$SCRAM_DEB" scram
	want render && install_deb graphviz "$GRAPHVIZ_DEB" dot
fi

# --- threatcov and the inputs ------------------------------------------------------------------

log "building threatcov and the bench tools"
go build -o "$CACHE/threatcov" ./cmd/threatcov
go build -o "$CACHE/sidebyside" ./bench/cmd/sidebyside
go build -o "$CACHE/probes" ./bench/cmd/probes
go build -o "$CACHE/bareinit" ./bench/cmd/bareinit
TC=$CACHE/threatcov
SBS=("$CACHE/sidebyside" -n "$RUNS" -warmup "$WARMUP")

rm -rf "$WORK/probes" "$WORK/svg" "$WORK/dot"
"$CACHE/probes" -namespace "$NS" "$WORK/probes"
NPROBES=$(find "$WORK/probes" -name '*.yaml' | wc -l)

{
	echo "## threatcov vs anchors ($(date -u +%Y-%m-%dT%H:%MZ))"
	echo
	echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load average at start $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "threatcov $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' (dirty work tree)'), $(go version | cut -d' ' -f3)."
	echo "Inputs: $EXAMPLE, $NPROBES default probes written as files in namespace $NS. $RUNS timed runs per command after $WARMUP warm-up, alternating; medians."
	echo
} >"$OUT"
"${SBS[@]}" -header >>"$OUT"

row() { "${SBS[@]}" "$@" | tee -a "$OUT"; }

# (1) Verification vs conftest on the konstraint-style Rego (Rego v1), then on the conftest
# policy (Rego v0: conftest takes one Rego version per run, so it is a row of its own).
# conftest runs every policy on every probe file; threatcov verify runs only the probes the
# mapping links to each step, and also loads the catalog, resolves the mapping and counts paths.
if want conftest; then
	log "verify vs conftest test"
	row -name "verify vs conftest test ($EXAMPLE/rego)" \
		-cmd "threatcov=$TC verify --policies $EXAMPLE/rego --namespace $NS" \
		-cmd "conftest=$BIN/conftest test --no-color --all-namespaces --policy $EXAMPLE/rego $WORK/probes"
	row -name "verify vs conftest test ($EXAMPLE/conftest, Rego v0)" \
		-cmd "threatcov=$TC verify --policies $EXAMPLE/conftest --namespace $NS" \
		-cmd "conftest=$BIN/conftest test --no-color --all-namespaces --rego-version v0 --policy $EXAMPLE/conftest $WORK/probes"
fi

# (2) Verification vs gator on the Gatekeeper templates and constraints, the same probe files.
# The example templates import only data.lib.*, which Gatekeeper's Rego rewriter accepts, so
# gator and threatcov read the same files.
if want gator; then
	log "verify vs gator test"
	row -name "verify vs gator test (Gatekeeper)" \
		-cmd "threatcov=$TC verify --policies $EXAMPLE/gatekeeper --namespace $NS" \
		-cmd "gator=$BIN/gator test -f $EXAMPLE/gatekeeper -f $WORK/probes"
fi

# (2b) Verification vs kyverno apply on the Kyverno policies (ClusterPolicies, a
# ValidatingPolicy, a PolicyException), the same probe files. threatcov runs the same CLI as a
# subprocess (one check run, then one run per requester, operation and subresource), on the
# probes the mapping links to steps, their benign twins and the Pods of their workloads.
if want kyverno; then
	log "verify vs kyverno apply"
	KYV=$ROOT/.cache/bin/kyverno
	# kyverno apply refuses two resources of one kind, namespace and name (two probes share the
	# bootstrap token's Secret, say): it gets the first of each.
	rm -rf "$WORK/kyverno-probes" && mkdir -p "$WORK/kyverno-probes"
	for f in "$WORK"/probes/*.yaml; do
		id=$(awk '/^kind:/ {k=$2} /^metadata:/ {m=1; next} m && /^    name:/ {print k "/" $2; exit} /^[a-z]/ {m=0}' "$f")
		[[ -e "$WORK/kyverno-probes/.seen-${id//\//_}" ]] && continue
		touch "$WORK/kyverno-probes/.seen-${id//\//_}"
		cp "$f" "$WORK/kyverno-probes/"
	done
	rm -f "$WORK"/kyverno-probes/.seen-*
	kyv_policies=$(grep -lE '^kind: (ClusterPolicy|Policy|ValidatingPolicy)$' "$KYVERNO_POLICIES"/*.yaml | tr '\n' ' ')
	kyv_exceptions=$(grep -l '^kind: PolicyException$' "$KYVERNO_POLICIES"/*.yaml | sed 's/^/--exceptions /' | tr '\n' ' ')
	row -name "verify vs kyverno apply ($KYVERNO_POLICIES)" \
		-cmd "threatcov=env THREATCOV_KYVERNO=$KYV $TC verify --policies $KYVERNO_POLICIES --namespace $NS" \
		-cmd "kyverno=$KYV apply $kyv_policies $kyv_exceptions --resource $WORK/kyverno-probes --policy-report --output-format json"
fi

# (3) Minimal path counting vs SCRAM: bench/paths.sh (the path engine's own comparison) when
# it exists.
if want paths; then
	if [[ -f bench/paths.sh ]]; then
		log "path counting vs scram: bench/paths.sh"
		bash bench/paths.sh | tee -a "$OUT.paths" >&2 || log "bench/paths.sh failed"
		{ echo; echo "Path counting vs SCRAM (bench/paths.sh):"; echo; cat "$OUT.paths"; echo; } >>"$OUT.tail"
		rm -f "$OUT.paths"
	else
		log "bench/paths.sh not present: path counting vs scram skipped"
		echo "| path counting vs scram | skipped: bench/paths.sh not present | | | | | | | |" >>"$OUT"
	fi
fi

# (4) Rendering every catalog tree vs dot -Tsvg on the DOT threatcov emits for the same trees,
# one dot process for all files: drawing a saved report (render --report: read the JSON, lay
# out and draw through go-graphviz), and the whole job (analysis + drawing).
if want render; then
	log "render vs dot -Tsvg"
	mkdir -p "$WORK/svg" "$WORK/dot"
	"$TC" render --policies "$EXAMPLE" --format dot --dir "$WORK/dot" >/dev/null
	"$TC" analyze --policies "$EXAMPLE" -o json --file "$WORK/report.json" 2>/dev/null
	dots=$(ls "$WORK"/dot/*.dot | tr '\n' ' ')
	row -name "render --report (all trees, SVG) vs dot -Tsvg" \
		-cmd "threatcov=$TC render --report $WORK/report.json --dir $WORK/svg" \
		-cmd "dot=dot -Tsvg -O $dots"
	row -name "render with analysis (all trees, SVG) vs dot -Tsvg" \
		-cmd "threatcov=$TC render --policies $EXAMPLE --dir $WORK/svg" \
		-cmd "dot=dot -Tsvg -O $dots"
fi

# (5) The analyze target is stated against start-up: a bare Go binary with go-graphviz's init.
if want analyze; then
	log "analyze vs bare start-up"
	row -name "analyze vs bare Go + go-graphviz init" \
		-cmd "threatcov=$TC analyze --policies $EXAMPLE" \
		-cmd "bareinit=$CACHE/bareinit"
fi

# (6) How analyze's cost grows with the catalog, namespaces, policies and probes.
if want scale; then
	log "scale: bench/scale.sh"
	SCALE_OUT=$CACHE/scale.md bash bench/scale.sh >&2
	{ echo; cat "$CACHE/scale.md"; echo; echo "Plot: go run ./bench/cmd/scaleplot (reads $CACHE/scale.md, writes docs/performance-scale.svg)."; } >>"$OUT.tail"
fi

if [[ -f $OUT.tail ]]; then cat "$OUT.tail" >>"$OUT"; rm -f "$OUT.tail"; fi
log ""
log "results: $OUT"
cat "$OUT"
