#!/usr/bin/env bash
# ONNX export against onnxruntime, for every preset and the variants whose inference graph differs:
# each model is trained briefly (1 epoch on trousers for images; short runs on a table and on sine
# windows), given a recon detector (detect --fit), exported as its full, encoder and decoder graphs,
# and run on 1000 inputs by onnxruntime (PyPI, in .venv-onnx; not a dependency of Bottleneck).
# One JSON line per model with the largest difference per graph; exits 1 past 1e-5 or on any
# anomaly flag that differs. ONNX_PYTHON=path skips making the venv; ONNX_MODELS="dense conv" runs a part.
set -euo pipefail
cd "$(dirname "$0")/../.."
BN="${BN:-$PWD/.build/release/bottleneck}"
DIR="${ONNX_DIR:-$PWD/out/onnx}"
mkdir -p "$DIR"
PY="${ONNX_PYTHON:-}"
if [ -z "$PY" ]; then
    PY="$PWD/.venv-onnx/bin/python"
    if ! "$PY" -c "import onnxruntime, onnx, numpy" 2>/dev/null; then
        python3 -m venv .venv-onnx && .venv-onnx/bin/pip install -q onnxruntime onnx numpy || {
            echo "onnx parity: could not make .venv-onnx (pip install onnxruntime onnx numpy failed)" >&2; exit 3; }
    fi
fi

# Raw inputs: Fashion-MNIST's first 1000 test images in [0, 1], a table, and windows of a series.
"$PY" - "$DIR" <<'PYEOF'
import gzip, sys
import numpy as np
d = sys.argv[1]
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    images = np.frombuffer(f.read()[16:], np.uint8).reshape(-1, 1, 28, 28)[:1000].astype(np.float32) / 255
np.save(f"{d}/images.npy", images)
rng = np.random.default_rng(0)
mix = rng.normal(size=(8, 3))
table = (rng.normal(size=(1500, 3)) @ mix.T * [1, 2, 5, 10, 1, 3, 0.5, 7] + [0, 10, -5, 100, 1, 2, 3, 4]).astype(np.float32)
np.save(f"{d}/table.npy", table)
t = np.arange(1500 * 16 + 16, dtype=np.float64)
series = np.stack([np.sin(t / 5), np.cos(t / 11), np.sin(t / 3) * 0.5], axis=1)
windows = np.stack([series[i:i + 16] for i in range(0, 1500 * 16, 16)]).astype(np.float32)
np.save(f"{d}/windows.npy", windows)
PYEOF

MODELS="${ONNX_MODELS:-dense deep-dense conv conv-bn linear resnet lstm vae denoising table}"
status=0
for m in $MODELS; do
    train=(--epochs 1 --classes 1); data=(); inputs="$DIR/images.npy"
    case "$m" in
        vae) train+=(--preset dense --variant vae) ;;
        denoising) train+=(--preset conv --variant denoising --noise gaussian:0.3) ;;
        table) train=(--preset dense --code-size 3 --scaling standard --epochs 20); data=(--data "$DIR/table.npy"); inputs="$DIR/table.npy" ;;
        lstm) train=(--preset lstm --epochs 3); data=(--data "$DIR/windows.npy"); inputs="$DIR/windows.npy" ;;
        *) train+=(--preset "$m") ;;
    esac
    model="$DIR/$m.safetensors"
    "$BN" train "${train[@]}" "${data[@]}" --seed 0 -o "$model" > "$DIR/$m.train.log" 2>&1
    "$BN" detect --model "$model" "${data[@]}" --score recon --fit --contamination 0.05 > "$DIR/$m.detect.log"
    for part in full encoder decoder; do "$BN" export --model "$model" --part "$part" -o "$DIR/$m-$part.onnx" > /dev/null; done
    cp "$inputs" "$DIR/$m.inputs.npy"
    "$BN" encode --model "$model" --data "$inputs" -o "$DIR/$m.codes.npy" > /dev/null
    "$BN" decode --model "$model" --codes "$DIR/$m.codes.npy" -o "$DIR/$m.decoded.npy" > /dev/null
    "$BN" detect --model "$model" --data "$inputs" -o "$DIR/$m.results.csv" > /dev/null
    "$PY" scripts/onnx/parity.py "$m" "$DIR" || status=1
done
exit $status
