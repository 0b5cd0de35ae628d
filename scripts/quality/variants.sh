#!/usr/bin/env bash
# Variant figures at full length (the short versions are tests in VariantTests.swift).
set -euo pipefail
BN="${BN:-.build/release/bottleneck}"
OUT="${QUALITY_DIR:-out/quality}/variants"
mkdir -p "$OUT"
cat > "$OUT/vae.json" <<'JSON'
{"name": "vae", "variant": {"kind": "vae", "options": {}},
 "encoder": [{"type": "flatten"}, {"type": "linear", "out": 400}, {"type": "relu"}, {"type": "linear", "out": 40}],
 "decoder": [{"type": "linear", "out": 400}, {"type": "relu"}, {"type": "linear", "out": 784}, {"type": "sigmoid"}]}
JSON
for epochs in 1 5; do
    rm -f "$OUT/vae$epochs".*
    "$BN" train --arch "$OUT/vae.json" --loss bce --epochs $epochs -o "$OUT/vae$epochs.safetensors" > "$OUT/vae$epochs.log"
    printf 'vae %d epoch(s): ' $epochs
    "$BN" eval --model "$OUT/vae$epochs.safetensors" | grep -e '-elbo'
done
echo "vae 5 epochs: PyTorch reference -ELBO 246.9 (limit 251.8); 1 epoch 262.2 (limit 267.5)"
"$BN" generate --model "$OUT/vae5.safetensors" -o "$OUT/vae-samples.png"
"$BN" interpolate --model "$OUT/vae5.safetensors" --from 0 --to 1 -o "$OUT/vae-interpolation.png"
rm -f "$OUT"/aae.*
"$BN" train --preset dense --code-size 8 --variant aae --epochs 8 -o "$OUT/aae.safetensors" > "$OUT/aae.log"
"$BN" generate --model "$OUT/aae.safetensors" -o "$OUT/aae-samples.png"
