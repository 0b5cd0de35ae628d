#!/usr/bin/env bash
# L-BFGS and CG against Adam on the two deterministic objectives the issue names: the linear
# autoencoder (code 16, whose optimum is PCA's) and a contractive one (one dense sigmoid layer of 64,
# exact penalty, weight 0.01: smooth, as a line search wants; a ReLU code's kinks made it take the
# whole evaluation budget on many iterations). Full batch (60,000 images) for the line-search optimizers; Adam with
# its defaults (batch 128, lr 0.001) for as many passes over the data as L-BFGS made, and for as
# long as L-BFGS took. Prints a markdown table per model; the line-search budget is 120 iterations
# for the linear model and 60 for the contractive one (about 90 s of L-BFGS each on 2 cores).
set -euo pipefail
BN="${BN:-.build/release/bottleneck}"
OUT="${QUALITY_DIR:-out/quality}/optimizers"
ONLY="${ONLY:-linear contractive}"
mkdir -p "$OUT"

# passes and seconds of a run, from its JSONL log: evaluations (Adam: one pass per epoch).
summary() { python3 - "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(sum(r.get("evaluations", 1) for r in rows), round(sum(r["seconds"] for r in rows), 1), len(rows))
PY
}
objective() { "$BN" eval --model "$1" --split train --objective | awk '/^objective/ {print $2}'; }
test_mse() { "$BN" eval --model "$1" | awk '/^mse/ {print $2}'; }

row() {  # name model-file
    read -r passes seconds epochs < <(summary "$2.log.jsonl")
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$epochs" "$passes" "$seconds" "$(objective "$2")" "$(test_mse "$2")"
}

run() {  # label, iterations, model flags...
    local label=$1 iterations=$2; shift 2
    for opt in lbfgs cg; do
        rm -f "$OUT/$label-$opt".*
        "$BN" train "$@" --optimizer $opt --batch-size 60000 --epochs "$iterations" -o "$OUT/$label-$opt.safetensors" > "$OUT/$label-$opt.log"
    done
    read -r passes seconds _ < <(summary "$OUT/$label-lbfgs.safetensors.log.jsonl")
    rm -f "$OUT/$label-adam-passes".*
    "$BN" train "$@" --epochs "$passes" -o "$OUT/$label-adam-passes.safetensors" > "$OUT/$label-adam-passes.log"
    read -r _ adam_seconds adam_epochs < <(summary "$OUT/$label-adam-passes.safetensors.log.jsonl")
    local time_epochs
    time_epochs=$(python3 -c "print(max(1, round($seconds / ($adam_seconds / $adam_epochs))))")
    rm -f "$OUT/$label-adam-time".*
    "$BN" train "$@" --epochs "$time_epochs" -o "$OUT/$label-adam-time.safetensors" > "$OUT/$label-adam-time.log"
    echo "| $label | epochs (iterations) | passes over the data | seconds | training objective | test MSE |"
    echo "|---|---|---|---|---|---|"
    row "L-BFGS, full batch" "$OUT/$label-lbfgs.safetensors"
    row "CG, full batch" "$OUT/$label-cg.safetensors"
    row "Adam, equal passes" "$OUT/$label-adam-passes.safetensors"
    row "Adam, equal time" "$OUT/$label-adam-time.safetensors"
}

cat > "$OUT/cae.json" <<'JSON'
{"name": "cae64", "variant": {"kind": "contractive", "options": {"weight": 0.01, "method": "exact"}},
 "encoder": [{"type": "flatten"}, {"type": "linear", "out": 64}, {"type": "sigmoid"}],
 "decoder": [{"type": "linear", "out": 784}, {"type": "sigmoid"}, {"type": "unflatten", "shape": [1, 28, 28]}]}
JSON
for only in $ONLY; do
    case $only in
    linear) run linear 120 --preset linear --code-size 16
            "$BN" pca --components 16 | sed 's/^/linear: /' ;;
    contractive) run contractive 60 --arch "$OUT/cae.json" ;;
    esac
done
