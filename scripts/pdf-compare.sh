#!/usr/bin/env bash
# Writes docs/images/compare-<tree>.png: each catalog tree's PDF page(s) (left) next to
# threatcov's drawing of it analysed against examples/platform (right), for reading the
# transcription and the layout side by side. The PDF pages come as PNG renders (110 dpi) from a
# copy of the CNCF source material.
#
# Usage: scripts/pdf-compare.sh RENDERS_DIR    (e.g. the renders/ folder of the threat model)
# Needs chromium (scripts/e2e-deps.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
renders="$(cd "${1:?usage: scripts/pdf-compare.sh RENDERS_DIR}" && pwd)"
browser="${THREATCOV_CHROMIUM:-$(command -v chromium || command -v chromium-browser)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$root" && go run ./cmd/threatcov render --policies examples/platform --dir "$work/svg" >/dev/null)

# tree id, then the PDF page renders it is transcribed from
pages=(
	"access-sensitive-data sensitive-data-1"
	"denial-of-service dos-1"
	"establish-persistence persistence-1"
	"malicious-code-execution malicious-1"
	"scenario-attacker-on-network scenario-network-2 scenario-network-5"
	"scenario-compromised-container scenario-compromised-1 scenario-compromised-2"
)
for entry in "${pages[@]}"; do
	read -r tree pdfs <<<"$entry"
	height=1300
	[[ $pdfs == *" "* ]] && height=1900 # two PDF pages stacked
	left=""
	for p in $pdfs; do
		left+="<figure><img src='file://$renders/$p.png'><figcaption>CNCF PDF: $p</figcaption></figure>"
	done
	cat >"$work/$tree.html" <<HTML
<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body { margin: 0; display: flex; gap: 12px; background: #fff; font: 16px sans-serif; }
.col { flex: 1 1 50%; min-width: 0; } img { width: 100%; display: block; border: 1px solid #ccc; }
figure { margin: 8px; } figcaption { margin-top: 4px; color: #444; }
</style></head><body>
<div class="col">$left</div>
<div class="col"><figure><img src="file://$work/svg/$tree.svg"><figcaption>threatcov render, analysed against examples/platform</figcaption></figure></div>
</body></html>
HTML
	profile="$(mktemp -d)"
	timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$profile" --hide-scrollbars --window-size=2400,$height \
		--screenshot="$work/$tree.png" "file://$work/$tree.html" >/dev/null 2>&1 || true
	rm -rf "$profile"
	cp "$work/$tree.png" "$root/docs/images/compare-$tree.png"
	echo "docs/images/compare-$tree.png"
done
