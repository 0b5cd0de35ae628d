#!/usr/bin/env bash
# Restoration figures at full length (docs/denoising.md, inpainting.md, colorization.md,
# watermark-removal.md): denoising (conv, 1 and 5 epochs), inpainting, colorization on photo
# patches, watermark removal. Each score is printed against its plain baseline.
# Run alone: BN=.build/release/bottleneck QUALITY_DIR=out/quality bash scripts/quality/restoration.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BN="${BN:-$PWD/.build/release/bottleneck}"
Q="${QUALITY_DIR:-$PWD/out/quality}/restoration"
mkdir -p "$Q"
PHOTOS=Tests/Fixtures/photos
say() { echo "-- $*"; }
# A number from a one-level JSON object in a file: field FILE KEY.
field() { grep -o "\"$2\" *: *[-0-9.eE+]*" "$1" | head -1 | sed 's/.*: *//'; }
timed() { local t0=$SECONDS; "$@"; echo "   ($((SECONDS - t0)) s)" >&2; }

# Denoising: Gaussian sigma 0.3 clipped to [0, 1]; PSNR over all test pixels (seeded noise, 1234).
for e in 1 5; do
    say "denoising conv, $e epoch(s)"
    timed "$BN" train --preset conv --variant denoising --noise gaussian:0.3 --epochs $e -o "$Q/denoise-$e.safetensors" > "$Q/denoise-$e.train.log"
    "$BN" denoise --model "$Q/denoise-$e.safetensors" --noise gaussian:0.3 --json --output "$Q/denoise-$e.png" > "$Q/denoise-$e.json"
    f="$Q/denoise-$e.json"
    printf '   noisy %.2f dB SSIM %.4f -> denoised %.2f dB SSIM %.4f (%d test images)\n' "$(field "$f" psnr_input_db)" "$(field "$f" ssim_input)" \
        "$(field "$f" psnr_output_db)" "$(field "$f" ssim_output)" "$(field "$f" samples)"
done
awk -v out="$(field "$Q/denoise-5.json" psnr_output_db)" -v inp="$(field "$Q/denoise-5.json" psnr_input_db)" \
    'BEGIN { g = out - inp; printf "   5 epochs: %+.2f dB over the noisy inputs: %s\n", g, (g >= 5 ? "PASS (>= 5 dB)" : "FAIL (< 5 dB)") }'

# Inpainting: a conv model trained on random occlusions; PSNR inside the hole vs two plain fills.
say "inpainting conv, occlusion:0.2-0.5, 5 epochs"
timed "$BN" train --preset conv --variant denoising --noise occlusion:0.2-0.5 --epochs 5 -o "$Q/inpaint.safetensors" > "$Q/inpaint.train.log"
"$BN" inpaint --model "$Q/inpaint.safetensors" --random-holes 0.2-0.5 --output "$Q/inpaint-random.png"
"$BN" inpaint --model "$Q/inpaint.safetensors" --rect 8,8,12,12 --output "$Q/inpaint-rect.png"

# Colorization: 32x32 patches of four photos; the right quarter of each photo is held out for test.
"$BN" patches --data $PHOTOS --size 32 --stride 8 --part train -o "$Q/photo-train.npy"
"$BN" patches --data $PHOTOS --size 32 --stride 32 --part test -o "$Q/photo-test.npy"
for e in 4 20; do
    say "colorization conv on photo patches, $e epochs"
    timed "$BN" train --preset conv --variant colorize --data "$Q/photo-train.npy" --epochs $e -o "$Q/colorize-$e.safetensors" > "$Q/colorize-$e.train.log"
    "$BN" colorize --model "$Q/colorize-$e.safetensors" --data "$Q/photo-test.npy" --output "$Q/colorize-$e-test.png"
done
say "whole chelsea photo (3/4 of it seen in training), 20-epoch model, 32x32 tiles"
"$BN" colorize --model "$Q/colorize-20.safetensors" --data $PHOTOS/chelsea.png --output "$Q/chelsea-colorized.png"

# Watermark removal: "SAMPLE" in the built-in 5x7 font, opacity 0.3-0.7, random place.
say "unwatermark: conv preset 5 epochs, docs/arch/restore-conv.json 3 epochs"
timed "$BN" train --preset conv --variant unwatermark --epochs 5 -o "$Q/unwatermark-conv.safetensors" > "$Q/unwatermark-conv.train.log"
"$BN" unwatermark --model "$Q/unwatermark-conv.safetensors" --add-watermark --output "$Q/unwatermark-conv.png"
timed "$BN" train --arch docs/arch/restore-conv.json --variant unwatermark --epochs 3 -o "$Q/unwatermark-full.safetensors" > "$Q/unwatermark-full.train.log"
"$BN" unwatermark --model "$Q/unwatermark-full.safetensors" --add-watermark --output "$Q/unwatermark-full.png"
