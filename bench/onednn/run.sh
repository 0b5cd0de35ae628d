#!/usr/bin/env bash
# Builds and runs conv_bench.c: oneDNN convolutions vs im2col + OpenBLAS on conv_wiki's shapes.
# Usage: bench/onednn/run.sh            (ITER=3 bench/onednn/run.sh for a quick check; default 15)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ ! -f /usr/include/oneapi/dnnl/dnnl.h ]; then
    echo "error: /usr/include/oneapi/dnnl/dnnl.h is missing: install libdnnl-dev (apt-get install libdnnl-dev)" >&2
    exit 1
fi
if [ ! -f /usr/include/cblas.h ] && [ ! -f /usr/include/x86_64-linux-gnu/cblas.h ]; then
    echo "error: cblas.h is missing: install libopenblas-dev" >&2
    exit 1
fi

out="${TMPDIR:-/tmp}/conv_bench"
clang -O2 -march=haswell -Wall "$here/conv_bench.c" -ldnnl -lopenblas -lm -o "$out"

# Two threads for both libraries; they never run at the same time (the benchmark runs OpenBLAS first).
export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
exec "$out"
