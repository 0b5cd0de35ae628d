#!/usr/bin/env bash
# The main job's figures: `bottleneck train` then `bottleneck eval` on Fashion-MNIST (Adam lr 1e-3,
# batch 128, seed 0), against the PyTorch reference's test MSE (shared/peers/README.md), and the
# linear autoencoder against PCA.
set -euo pipefail
BN="${BN:-.build/release/bottleneck}"
OUT="${QUALITY_DIR:-out/quality}/main"
mkdir -p "$OUT"
mse() { printf '%.5f' "$("$BN" eval --model "$1" --json | grep -o '"mse" *: *[-0-9.eE+]*' | head -1 | sed 's/.*: *//')"; }
run() {  # name preset epochs reference-mse extra-args...
    local name=$1 preset=$2 epochs=$3 ref=$4; shift 4
    rm -f "$OUT/$name".*
    "$BN" train --preset "$preset" --epochs "$epochs" --seed 0 -o "$OUT/$name.safetensors" "$@" > "$OUT/$name.train.log"
    printf '%-22s test MSE %s   (PyTorch reference %s, limit +5%%)\n' "$name" "$(mse "$OUT/$name.safetensors")" "$ref"
}
run dense-1-epoch dense 1 0.0292
run dense-5-epochs dense 5 0.0168
run conv-5-epochs conv 5 0.00946
run deep-dense-1-epoch deep-dense 1 0.0251
run conv-bn-1-epoch conv-bn 1 0.0042

# A linear autoencoder with a 16-value code against PCA's optimum with 16 components.
rm -f "$OUT"/linear16.*
"$BN" train --preset linear --code-size 16 --epochs 20 --lr 3e-3 --schedule cosine --seed 0 -o "$OUT/linear16.safetensors" > "$OUT/linear16.train.log"
"$BN" pca --components 16 --compare "$OUT/linear16.safetensors"
