#!/usr/bin/env bash
# Regenerates Sources/BottleneckONNX/onnx.pb.swift from ONNX's schema (scripts/onnx/onnx.proto,
# copied from the onnx 1.23.2 wheel). Run once when the schema changes and commit the result, so
# builds need no protoc. Needs protoc (Debian protobuf-compiler) and protoc-gen-swift built from
# swift-protobuf at the version Package.swift names:
#   git clone https://github.com/apple/swift-protobuf && cd swift-protobuf && git checkout 1.39.0
#   swift build -c release --product protoc-gen-swift
# then PROTOC_GEN_SWIFT=path/to/.build/release/protoc-gen-swift bash scripts/onnx/generate.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
plugin="${PROTOC_GEN_SWIFT:?set PROTOC_GEN_SWIFT to the protoc-gen-swift binary}"
protoc --plugin=protoc-gen-swift="$plugin" --proto_path=scripts/onnx --swift_out=Sources/BottleneckONNX scripts/onnx/onnx.proto
echo "wrote Sources/BottleneckONNX/onnx.pb.swift"
