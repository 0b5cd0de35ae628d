#!/usr/bin/env bash
# Installs the system packages Bottleneck needs, and only those missing (idempotent).
# --test adds what the tests need besides: Debian's Chromium, to render reports headless.
set -euo pipefail
need=(libopenblas-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev libdnnl-dev pkg-config dataset-fashion-mnist)
missing=()
for p in "${need[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${1:-}" = "--test" ] && ! dpkg -s chromium >/dev/null 2>&1; then
    echo "setup: installing chromium (the report tests render pages headless)"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
command -v swift >/dev/null || { echo "setup: the Swift toolchain (swift) is not on PATH" >&2; exit 1; }
