#!/usr/bin/env bash
# Applications of a trained conv autoencoder on full Fashion-MNIST (docs/retrieval.md, docs/probe.md,
# docs/compression.md): retrieval precision@10 (conv-32 codes vs PCA-32 vs raw pixels), a search
# timing over 60,000 items, linear-probe accuracies, and the compression rate-distortion table
# against PNG and JPEG. Index = training set (60,000), queries = test set (10,000).
# Run alone: bash scripts/quality/retrieval.sh   (BN, QUALITY_DIR and RETRIEVAL_EPOCHS may be set;
# RETRIEVAL_REUSE_MODEL=1 keeps an already trained $QUALITY_DIR/retrieval/conv32.safetensors)
set -euo pipefail
cd "$(dirname "$0")/../.."
BN="${BN:-$PWD/.build/release/bottleneck}"
OUT="${QUALITY_DIR:-$PWD/out/quality}/retrieval"
EPOCHS="${RETRIEVAL_EPOCHS:-15}"
mkdir -p "$OUT"
MODEL="$OUT/conv32.safetensors"
step() { echo; echo "# $*"; }

if [ -f "$MODEL" ] && [ "${RETRIEVAL_REUSE_MODEL:-0}" = 1 ]; then
    step "reusing $MODEL (RETRIEVAL_REUSE_MODEL=1)"
else
    step "train: conv preset with a linear 32-value code, $EPOCHS epochs, seed 0"
    "$BN" train --preset conv --code-size 32 --linear-code --epochs "$EPOCHS" --seed 0 -o "$MODEL" | tail -2
fi

step "index the training set three ways"
"$BN" index --model "$MODEL" -o "$OUT/conv32.index"
"$BN" index --pca 32 -o "$OUT/pca32.index"
"$BN" index --raw -o "$OUT/raw.index"

for metric in cosine l2; do
    step "precision@10 of the 10,000 test images, $metric distance"
    "$BN" search --index "$OUT/conv32.index" --model "$MODEL" --evaluate --metric "$metric"
    "$BN" search --index "$OUT/pca32.index" --evaluate --metric "$metric"
    "$BN" search --index "$OUT/raw.index" --evaluate --metric "$metric"
done

step "one query at a time over 60,000 items (encode + search; median, p90 in ms)"
"$BN" search --index "$OUT/conv32.index" --model "$MODEL" --evaluate --limit 200 --timing | tail -1
"$BN" search --index "$OUT/conv32.index" --model "$MODEL" --query-index 0 -k 5

step "linear probe: train on the 60,000 training images, test on the 10,000 test images"
"$BN" probe --model "$MODEL"

step "compression of the 10,000 test images (6 bits per code value), against PNG and JPEG"
"$BN" compress --model "$MODEL" --bits 6 -o "$OUT/test.bnz" --compare \
    --rd-csv "$OUT/rate-distortion.csv" --rd-svg "$OUT/rate-distortion.svg"
"$BN" compress --model "$MODEL" --bits 6 --limit 64 -o "$OUT/first64.bnz"
"$BN" decompress --model "$MODEL" --input "$OUT/first64.bnz" -o "$OUT/first64-decompressed.png"
echo
echo "outputs in $OUT (rate-distortion.csv, rate-distortion.svg, first64-decompressed.png)"
