#!/usr/bin/env bash
# ONNX export against onnxruntime for every preset and variant (scripts/onnx/parity.sh): one JSON
# line per model with the largest difference of its full, encoder and decoder graphs and how many
# anomaly flags agree. Here it must run: a venv that cannot be made fails the quality run.
set -euo pipefail
cd "$(dirname "$0")/../.."
QUALITY_DIR="${QUALITY_DIR:-$PWD/out/quality}"
ONNX_DIR="$QUALITY_DIR/onnx" bash scripts/onnx/parity.sh
