// swift-tools-version:5.9
// libFuzzer harnesses for Bottleneck's readers: a root package of its own, so the flags a fuzzer
// needs (unsafeFlags) stay out of the main package, which others depend on by version.
// Build and run: scripts/fuzz.sh (or `make fuzz` / `make fuzz-smoke`).
import PackageDescription

let package = Package(
    name: "BottleneckFuzz",
    // Named, so the product resolves whatever the checkout's folder is called.
    dependencies: [.package(name: "Bottleneck", path: "..")],
    targets: [
        .executableTarget(
            name: "bottleneck-fuzz",
            dependencies: ["CFuzzerDriver", .product(name: "Bottleneck", package: "Bottleneck")],
            // No top-level code: the entry point is Main.swift's `bottleneck_fuzz_main`.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .target(name: "CFuzzerDriver"),
    ]
)
