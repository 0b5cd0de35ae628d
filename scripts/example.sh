#!/usr/bin/env bash
# Builds and runs the example package in Examples/TrainAndScore the way another project would use
# Bottleneck: as a dependency by version (`.package(url:from:)`), here against a tagged clone of
# this checkout (SwiftPM refuses unsafe build flags in such dependencies, so this also proves the
# package is consumable).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d /tmp/bottleneck-example.XXXXXX)
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/Bottleneck"
# Uncommitted work is part of what is tested: overlay the working tree's tracked files.
git ls-files -z | (cd "$root" && xargs -0 tar cf -) | tar xf - -C "$work/Bottleneck"
git -C "$work/Bottleneck" add -A
git -C "$work/Bottleneck" -c user.name=ci -c user.email=ci@localhost commit -q -m "working tree" --allow-empty
git -C "$work/Bottleneck" tag 1.0.0
cp -r Examples/TrainAndScore "$work/TrainAndScore"
cd "$work/TrainAndScore"
# A debug build: the example trains for seconds, and a second optimised build of the library would
# cost CI minutes.
BOTTLENECK_URL="file://$work/Bottleneck" swift build
BOTTLENECK_URL="file://$work/Bottleneck" swift run TrainAndScore "$work/model.safetensors"
