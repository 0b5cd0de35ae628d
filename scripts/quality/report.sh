#!/usr/bin/env bash
# `bottleneck report` on three real models: the demo model (conv, `bottleneck demo`, with the
# rate-distortion curve), a VAE (dense preset, 10 epochs) and a one-class detector (dense preset on
# trousers, detect --fit). Each page is rendered by headless Chromium to a PNG screenshot; the
# table gives its size, how long building it took, and Chromium's load time for it (the page's
# own `load` event, read from a copy with a one-line timing script added; the page itself has no
# script). Targets: under 2 MB and under 1 s. Needs Debian's chromium (scripts/setup.sh --test).
set -euo pipefail
cd "$(dirname "$0")/../.."
BN="${BN:-$PWD/.build/release/bottleneck}"
QUALITY_DIR="${QUALITY_DIR:-$PWD/out/quality}"
DIR="$QUALITY_DIR/report"
mkdir -p "$DIR"
CHROMIUM="${CHROMIUM:-chromium}"
command -v "$CHROMIUM" >/dev/null || { echo "report.sh: chromium is not installed (bash scripts/setup.sh --test)" >&2; exit 1; }
browser() { "$CHROMIUM" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$DIR/profile" "$@" 2>/dev/null; }

[ -f "$DIR/demo/conv.safetensors" ] || "$BN" demo --output-dir "$DIR/demo" > "$DIR/demo.log"
[ -f "$DIR/vae.safetensors" ] || "$BN" train --preset dense --variant vae --epochs 10 --validation 0.1 -o "$DIR/vae.safetensors" > "$DIR/vae.log"
if [ ! -f "$DIR/trouser.safetensors" ]; then
    "$BN" train --preset dense --classes 1 --epochs 10 --validation 0.1 -o "$DIR/trouser.safetensors" > "$DIR/trouser.log"
    "$BN" detect --model "$DIR/trouser.safetensors" --fit --percentile 99 >> "$DIR/trouser.log"
fi

echo "| page | bytes | build seconds | Chromium load ms (median of 5) | printed pages | screenshot |"
echo "|---|---|---|---|---|---|"
for name in demo vae trouser; do
    model="$DIR/$name.safetensors"; extra=()
    [ "$name" = demo ] && { model="$DIR/demo/conv.safetensors"; extra=(--rate-distortion); }
    start=$(date +%s.%N)
    "$BN" report --model "$model" "${extra[@]}" -o "$DIR/$name.html" > "$DIR/$name.report.log"
    seconds=$(echo "$(date +%s.%N) - $start" | bc)
    sed 's#</body>#<script>addEventListener("load",()=>{document.title="loaded "+performance.now().toFixed(0)})</script></body>#' \
        "$DIR/$name.html" > "$DIR/$name.timed.html"
    times=()
    for i in 1 2 3 4 5; do
        times+=("$(browser --dump-dom "file://$DIR/$name.timed.html" | grep -o '<title>loaded [0-9]*' | grep -o '[0-9]*$')")
    done
    median=$(printf "%s\n" "${times[@]}" | sort -n | sed -n 3p)
    browser --window-size=1200,3000 --screenshot="$DIR/$name.png" "file://$DIR/$name.html" > /dev/null
    browser --no-pdf-header-footer --print-to-pdf="$DIR/$name.pdf" "file://$DIR/$name.html" > /dev/null
    pages=$(grep -ac "/Type /Page$\|/Type /Page[^s]" "$DIR/$name.pdf" || true)
    printf "| %s | %s | %.2f | %s | %s | %s |\n" "$name" "$(stat -c %s "$DIR/$name.html")" "$seconds" "$median" "$pages" "$DIR/$name.png"
done
