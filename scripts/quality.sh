#!/usr/bin/env bash
# Full-length quality runs: the figures the README quotes. Each script in scripts/quality/ prints
# its own lines; run one alone with `bash scripts/quality/NAME.sh`.
set -euo pipefail
cd "$(dirname "$0")/.."
export BN="${BN:-$PWD/.build/release/bottleneck}"
export QUALITY_DIR="${QUALITY_DIR:-$PWD/out/quality}"
mkdir -p "$QUALITY_DIR"
for s in scripts/quality/*.sh; do
    echo "== $(basename "$s" .sh)"
    bash "$s"
done
