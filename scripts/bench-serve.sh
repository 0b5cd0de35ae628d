#!/usr/bin/env bash
# Load benchmark for `bottleneck serve` (issue 13): requests/s and latency of our server, with and
# without dynamic batching, against the usual FastAPI + uvicorn + PyTorch setup
# (bench/reference/serve_reference.py), driven by wrk with real Fashion-MNIST images.
#
#   bash scripts/bench-serve.sh
#   SERVERS=reference BENCH_SECONDS=3 SOAK_SECONDS=0 bash scripts/bench-serve.sh   # reference only
#
# Prints one JSON line per measurement (also appended to $BENCH_SERVE_OUT), a soak line (RSS before
# and after SOAK_SECONDS of load) and one summary line per model and connection count.
# Settings (environment): BN, SERVERS (bottleneck,bottleneck-no-batching,reference), MODELS
# (dense conv), CONNECTIONS (1 16 64), BENCH_SECONDS (10), WARMUP_SECONDS (2), ROUNDS (1),
# ROWS_PER_REQUEST (1), SOAK_SECONDS (300), SERVE_FLAGS (extra flags for `bottleneck serve`),
# SERVE_VENV (.venv-serve), WRK_TIMEOUT (10s), BENCH_SERVE_OUT (bench-serve.jsonl).
# Paths are relative to the repository root. Server and wrk share the machine's cores, one server
# at a time, so figures are comparable with each other, not with a separate load-generator box.
set -euo pipefail
cd "$(dirname "$0")/.."

BN=${BN:-.build/release/bottleneck}
SERVERS=${SERVERS:-bottleneck,bottleneck-no-batching,reference}
MODELS=${MODELS:-dense conv}
CONNECTIONS=${CONNECTIONS:-1 16 64}
BENCH_SECONDS=${BENCH_SECONDS:-10}
WARMUP_SECONDS=${WARMUP_SECONDS:-2}
ROUNDS=${ROUNDS:-1}
ROWS_PER_REQUEST=${ROWS_PER_REQUEST:-1}
SOAK_SECONDS=${SOAK_SECONDS:-300}
SERVE_FLAGS=${SERVE_FLAGS:-}
VENV=${SERVE_VENV:-.venv-serve}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
OUT=${BENCH_SERVE_OUT:-bench-serve.jsonl}
FMNIST_TEST=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}/t10k-images-idx3-ubyte.gz

IFS=, read -r -a servers <<< "$SERVERS"
for s in "${servers[@]}"; do
    case $s in bottleneck|bottleneck-no-batching|reference) ;; *) echo "bench-serve: unknown server '$s'" >&2; exit 2 ;; esac
done
wants() { [[ ",$SERVERS," == *",$1,"* ]]; }
wants_ours() { wants bottleneck || wants bottleneck-no-batching; }

TMP=$(mktemp -d)
SERVER_PID=
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
trap 'stop_server; rm -rf "$TMP"' EXIT

emit() { echo "$1"; echo "$1" >> "$OUT"; }
log() { echo "bench-serve: $*" >&2; }

# --- tools: wrk drives the load, jq shapes the JSON; Debian packages, installed only if missing --
missing=
command -v wrk > /dev/null || missing="$missing wrk"
command -v jq > /dev/null || missing="$missing jq"
if [ -n "$missing" ]; then
    log "installing$missing"
    sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing > /dev/null ||
        { $sudo apt-get update -q > /dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing > /dev/null; }
fi

# The reference's venv: CPU-only torch from the local wheel folder (the PyPI wheel drags in ~5 GB
# of CUDA packages), FastAPI and uvicorn from PyPI. Only what is missing is installed.
if wants reference; then
    [ -x "$VENV/bin/python" ] || { log "creating $VENV"; python3 -m venv "$VENV"; }
    if ! "$VENV/bin/python" -c "import torch" 2> /dev/null; then
        log "installing torch (CPU wheel) into $VENV"
        "$VENV/bin/pip" install -q --no-deps /opt/wheels/torch-*.whl
        "$VENV/bin/pip" install -q numpy typing_extensions sympy networkx jinja2 filelock fsspec mpmath MarkupSafe 'setuptools>=77.0.3'
    fi
    if ! "$VENV/bin/python" -c "import fastapi, uvicorn, numpy" 2> /dev/null; then
        log "installing fastapi uvicorn into $VENV"
        "$VENV/bin/pip" install -q fastapi uvicorn numpy
    fi
    "$VENV/bin/python" -c "import torch, fastapi, uvicorn"
fi

# --- models (ours only): one short epoch each; speed does not depend on how well they are trained.
# Trained in a scratch folder so that the checkpoints and logs beside them do not land in --models.
MODEL_DIR=$TMP/models
mkdir -p "$MODEL_DIR" "$TMP/train"
if wants_ours; then
    [ -x "$BN" ] || { log "no binary at $BN (set BN=...)"; exit 2; }
    for m in $MODELS; do
        log "training $m"
        "$BN" train --preset "$m" --epochs 1 -o "$TMP/train/$m.safetensors" > "$TMP/train/$m.out" 2>&1 ||
            { cat "$TMP/train/$m.out" >&2; exit 1; }
        # A stored threshold, so /score answers flags as a deployed detector does.
        "$BN" detect --model "$TMP/train/$m.safetensors" --fit --percentile 99 > "$TMP/train/$m.detect" 2>&1 ||
            { cat "$TMP/train/$m.detect" >&2; exit 1; }
        mv "$TMP/train/$m.safetensors" "$MODEL_DIR/$m.safetensors"
    done
fi

# Other processes' load skews every figure (server and wrk share the cores): warn if not idle.
busy=$( { head -n 1 /proc/stat; sleep 1; head -n 1 /proc/stat; } | awk '
    { b = $2 + $3 + $4 + $7 + $8 + $9; t = b + $5 + $6; if (NR == 1) { b0 = b; t0 = t } else printf "%.2f", (b - b0) / (t - t0) * '"$(nproc)"' }')
awk -v b="$busy" 'BEGIN { exit !(b > 0.2) }' && log "warning: the machine is busy ($busy CPUs used by other processes); figures will be low and noisy"

# --- request body: the first ROWS_PER_REQUEST Fashion-MNIST test images, pixels / 255 ---------
BODY=$TMP/body.json
python3 - "$FMNIST_TEST" "$ROWS_PER_REQUEST" "$BODY" <<'EOF'
import gzip, json, sys
path, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with gzip.open(path, "rb") as f:
    data = f.read()
assert int.from_bytes(data[:4], "big") == 0x803, "not an IDX image file"
rows = [[p / 255 for p in data[16 + i * 784:16 + (i + 1) * 784]] for i in range(n)]
with open(out, "w") as f:
    json.dump({"rows": rows}, f)
EOF
export BODY

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts one server in the background (SERVER_PID, PORT) and waits for GET /readyz to answer 200.
start_server() {
    PORT=$(free_port)
    case $1 in
        bottleneck) "$BN" serve --models "$MODEL_DIR" --host 127.0.0.1 --port "$PORT" $SERVE_FLAGS > "$TMP/$1.log" 2>&1 & ;;
        bottleneck-no-batching) "$BN" serve --models "$MODEL_DIR" --host 127.0.0.1 --port "$PORT" --no-batching $SERVE_FLAGS > "$TMP/$1.log" 2>&1 & ;;
        reference) "$VENV/bin/python" bench/reference/serve_reference.py --host 127.0.0.1 --port "$PORT" > "$TMP/$1.log" 2>&1 & ;;
    esac
    SERVER_PID=$!
    local deadline=$((SECONDS + 60))
    until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/readyz")" = 200 ]; do
        if ! kill -0 "$SERVER_PID" 2> /dev/null || [ $SECONDS -ge $deadline ]; then
            log "$1 did not become ready; its log:"; tail -n 30 "$TMP/$1.log" >&2; exit 1
        fi
        sleep 0.2
    done
}

# run_wrk MODEL CONNECTIONS SECONDS: prints score.lua's JSON line. wrk needs threads <= connections.
run_wrk() {
    local threads=$(( $2 < 2 ? $2 : 2 ))
    timeout $(( $3 + 30 )) wrk -t"$threads" -c"$2" -d"$3"s --timeout "$WRK_TIMEOUT" --latency \
        -s bench/wrk/score.lua "http://127.0.0.1:$PORT/v1/models/$1/score" > "$TMP/wrk.out" 2>&1 ||
        { log "wrk failed (model $1, $2 connections):"; tail -n 5 "$TMP/wrk.out" >&2; return 1; }
    grep '^{"requests"' "$TMP/wrk.out" | tail -n 1
}

# One request before measuring: a wrong shape or status would otherwise only show as "errors".
check_score() {
    local resp code
    resp=$(curl -s --max-time 10 -w '\n%{http_code}' -H 'Content-Type: application/json' \
        --data-binary @"$BODY" "http://127.0.0.1:$PORT/v1/models/$1/score")
    code=${resp##*$'\n'} resp=${resp%$'\n'*}
    if [ "$code" != 200 ] || ! jq -e --arg m "$1" --argjson n "$ROWS_PER_REQUEST" \
        '.model == $m and .score == "mse" and (.scores | length) == $n and (.flags | length) == $n
         and (.threshold | type) == "number" and all(.scores[]; type == "number")' <<< "$resp" > /dev/null 2>&1; then
        log "unexpected answer from /v1/models/$1/score (HTTP $code): ${resp:0:300}"; exit 1
    fi
}

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

name_of() {  # the server's name in the JSON lines
    case $1 in reference) echo fastapi-torch ;; *) echo "$1" ;; esac
}

# --- measurements: each round runs every server once, in alternating order ----------------------
RESULTS=$TMP/results.tsv  # server model connections requests_per_s p99_ms
: > "$RESULTS"
for round in $(seq "$ROUNDS"); do
    order=("${servers[@]}")
    if [ $((round % 2)) = 0 ]; then  # even rounds: reversed, so no server always goes first
        order=(); for ((i = ${#servers[@]} - 1; i >= 0; i--)); do order+=("${servers[i]}"); done
    fi
    for s in "${order[@]}"; do
        log "round $round: $s"
        start_server "$s"
        for m in $MODELS; do
            for c in $CONNECTIONS; do
                check_score "$m"
                run_wrk "$m" "$c" "$WARMUP_SECONDS" > /dev/null  # warm-up, not measured
                r=$(run_wrk "$m" "$c" "$BENCH_SECONDS")
                [ -n "$r" ] || { log "wrk gave no result for $s $m c=$c"; exit 1; }
                [ "$(jq .errors <<< "$r")" = 0 ] || log "warning: $s $m c=$c had errors: $r"
                emit "{\"bench\":\"serve\",\"server\":\"$(name_of "$s")\",\"model\":\"$m\",\"connections\":$c,\"rows_per_request\":$ROWS_PER_REQUEST,\"round\":$round,${r#\{}"
                echo "$s $m $c $(jq -r '"\(.requests_per_s) \(.p99_ms)"' <<< "$r")" >> "$RESULTS"
            done
        done
        stop_server
    done
done

# --- soak: ours with batching under steady load; a leak shows as RSS growth ------------------------
if wants bottleneck && [ "$SOAK_SECONDS" -gt 0 ]; then
    log "soak: $SOAK_SECONDS s"
    start_server bottleneck
    run_wrk dense 16 "$WARMUP_SECONDS" > /dev/null
    before=$(rss_mb "$SERVER_PID")
    r=$(run_wrk dense 16 "$SOAK_SECONDS")
    after=$(rss_mb "$SERVER_PID")
    emit "$(jq -c --arg b "$before" --arg a "$after" --argjson s "$SOAK_SECONDS" --argjson rows "$ROWS_PER_REQUEST" \
        '{bench: "serve-soak", server: "bottleneck", model: "dense", connections: 16, rows_per_request: $rows,
          seconds: $s, rss_before_mb: ($b | tonumber), rss_after_mb: ($a | tonumber), requests, requests_per_s,
          p99_ms, errors}' <<< "$r")"
    stop_server
fi

# --- summary: medians over rounds; ratio = ours (batching) / reference requests/s ----------------
jq -R -s -c --argjson rows "$ROWS_PER_REQUEST" --argjson rounds "$ROUNDS" --arg models "$MODELS" '
    def r($d): if . == null then null else (. * $d | round) / $d end;
    def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
                       else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    [split("\n")[] | select(length > 0) | split(" ") | {s: .[0], m: .[1], c: (.[2] | tonumber),
      rps: (.[3] | tonumber), p99: (.[4] | tonumber)}]
    | ($models | split(" ") | map(select(length > 0))) as $order
    | group_by([(. as $x | $order | index($x.m)), .c])[] as $g
    | def side($s): [$g[] | select(.s == $s)];
      (side("bottleneck") | map(.rps) | median) as $ours
    | (side("reference") | map(.rps) | median) as $ref
    | {bench: "serve-summary", model: $g[0].m, connections: $g[0].c, rows_per_request: $rows, rounds: $rounds,
       bottleneck_requests_per_s: ($ours | r(10)),
       bottleneck_no_batching_requests_per_s: (side("bottleneck-no-batching") | map(.rps) | median | r(10)),
       fastapi_torch_requests_per_s: ($ref | r(10)),
       ratio: (if $ours != null and $ref != null and $ref > 0 then $ours / $ref | r(1000) else null end),
       bottleneck_p99_ms: (side("bottleneck") | map(.p99) | median | r(1000)),
       fastapi_torch_p99_ms: (side("reference") | map(.p99) | median | r(1000))}
' "$RESULTS" | while IFS= read -r line; do emit "$line"; done
