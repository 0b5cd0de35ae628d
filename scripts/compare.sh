#!/usr/bin/env bash
# Bottleneck against the PyTorch reference (bench/reference/torch_bench.py), alternating runs in
# one sitting; prints per-workload medians and the ratio ours/reference. Without torch it says how
# to install it and still measures ours. Arguments go to `bottleneck compare`:
#   scripts/compare.sh                                   # all workloads, 3 rounds each
#   scripts/compare.sh --workloads dense,vae,conv_wiki:120 --rounds 5
#   TORCH_PYTHON=/path/to/venv/bin/python scripts/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BN="${BN:-$PWD/.build/release/bottleneck}"
[ -x "$BN" ] || swift build -c release
exec "$BN" compare "$@"
