#!/usr/bin/env bash
# The OpenAPI document checked against the running server by schemathesis (PyPI, in a venv made
# if missing): every operation, generated bodies and parameters, positive and negative. Passes
# with zero server errors (5xx) and zero schema violations over at least API_FUZZ_MIN requests.
#   bash scripts/quality/api-fuzz.sh     (API_FUZZ_EXAMPLES per operation and phase, default 100)
set -euo pipefail
cd "$(dirname "$0")/../.."
BN=${BN:-$PWD/.build/release/bottleneck}
VENV=${API_VENV:-.venv-api}
EXAMPLES=${API_FUZZ_EXAMPLES:-100}
MIN=${API_FUZZ_MIN:-1000}
OUT=${QUALITY_DIR:-$PWD/out/quality}/api-fuzz
mkdir -p "$OUT"
[ -x "$VENV/bin/st" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install -q schemathesis; }

# Models of each served kind, trained briefly (what is checked is the protocol, not the quality).
MODELS=$OUT/models
rm -rf "$MODELS" "$OUT/train"; mkdir -p "$MODELS" "$OUT/train"
train() { local name=$1; shift; "$BN" train "$@" -o "$OUT/train/$name.safetensors" > "$OUT/train/$name.log" 2>&1; mv "$OUT/train/$name.safetensors" "$MODELS/"; }
"$BN" train --preset dense --epochs 1 -o "$OUT/train/dense.safetensors" > "$OUT/train/dense.log" 2>&1
"$BN" detect --model "$OUT/train/dense.safetensors" --fit --percentile 99 > /dev/null
mv "$OUT/train/dense.safetensors" "$MODELS/"
train vae --preset dense --variant vae --code-size 8 --epochs 1
train inpainter --preset conv --variant denoising --noise occlusion:0.2-0.5 --classes 1 --epochs 1
train unmarker --preset conv --variant unwatermark --classes 1 --epochs 1

"$BN" serve --models "$MODELS" --port 0 > "$OUT/serve.out" 2> "$OUT/serve.err" &
PID=$!
trap 'kill $PID 2> /dev/null || true' EXIT
for _ in $(seq 100); do grep -q "listening on" "$OUT/serve.out" 2> /dev/null && break; sleep 0.1; done
PORT=$(grep -o '127.0.0.1:[0-9]*' "$OUT/serve.out" | head -1 | cut -d: -f2)

set +e
"$VENV/bin/st" run "http://127.0.0.1:$PORT/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --max-examples "$EXAMPLES" --seed 1 --report ndjson --report-ndjson-path "$OUT/events.ndjson" > "$OUT/schemathesis.txt" 2>&1
rc=$?
set -e
generated=$(grep -o '[0-9]* generated' "$OUT/schemathesis.txt" | tail -1 | cut -d' ' -f1)
failures=$(grep -cE '^[0-9]+\. Test Case ID' "$OUT/schemathesis.txt" || true)
alive=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")
echo "{\"quality\":\"api-fuzz\",\"tool\":\"schemathesis $("$VENV/bin/st" --version | awk '{print $NF}')\",\"generated_requests\":${generated:-0},\"failures\":$failures,\"exit\":$rc,\"healthz_after\":$alive}"
if [ "$rc" != 0 ] || [ "${generated:-0}" -lt "$MIN" ] || [ "$alive" != 200 ]; then
    tail -n 60 "$OUT/schemathesis.txt" >&2
    exit 1
fi
