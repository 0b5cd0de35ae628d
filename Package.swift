// swift-tools-version:5.9
import PackageDescription

let package = Package(
    name: "Bottleneck",
    products: [
        .library(name: "Bottleneck", targets: ["Bottleneck"]),
        .executable(name: "bottleneck", targets: ["bottleneck"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation`: DocC for the public API.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
        // `bottleneck serve`: HTTP/1.1 on SwiftNIO, Prometheus text metrics, structured logs.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.100.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        // `bottleneck export --format onnx`: ONNX's protobuf schema, its Swift code generated once
        // (scripts/onnx/generate.sh) and committed, so builds need no protoc.
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", providers: [.apt(["libjpeg62-turbo-dev"])]),
        // PNG/JPEG codecs in C: libpng and libjpeg report errors by longjmp, which must stay inside C.
        .target(name: "CImageCodecs", dependencies: ["CPNG", "CJPEG"], path: "Sources/CImageCodecs",
                linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),
        // Vector loops Swift cannot vectorise (exp, log, square root), cloned for AVX2 and plain
        // x86-64; no FMA contraction (a pragma in the file), so both clones give the same bits.
        .target(name: "CKernels", path: "Sources/CKernels"),
        // oneDNN convolutions behind a small C API (Debian libdnnl-dev; the library runs OpenMP threads).
        .target(name: "CDNNL", path: "Sources/CDNNL", linkerSettings: [.linkedLibrary("dnnl")]),
        // The library, one target per layer; each may use only the ones above it in this list.
        .target(name: "BottleneckCore", dependencies: ["COpenBLAS", "CKernels", "CDNNL"]),
        .target(name: "BottleneckNN", dependencies: ["BottleneckCore", "CKernels"]),
        .target(name: "BottleneckData", dependencies: ["BottleneckCore", "CZlib", "CImageCodecs"]),
        .target(name: "BottleneckTraining", dependencies: ["BottleneckNN", "BottleneckData"]),
        .target(name: "BottleneckApps", dependencies: ["BottleneckTraining", "CZlib"]),
        // Models as ONNX graphs (beside the apps: it needs the model bundle only).
        .target(name: "BottleneckONNX", dependencies: ["BottleneckTraining", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // `import Bottleneck`: the umbrella that re-exports the layers.
        .target(name: "Bottleneck", dependencies: ["BottleneckCore", "BottleneckNN", "BottleneckData",
                                                   "BottleneckTraining", "BottleneckApps", "BottleneckONNX"]),
        // The model server: the library's bundle behind HTTP (Inference/ knows no HTTP; HTTP/ is the shell).
        .target(name: "BottleneckServe", dependencies: [
            "Bottleneck",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "bottleneck",
                          dependencies: ["Bottleneck", "BottleneckServe", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/bottleneck"),
        .testTarget(name: "BottleneckTests", dependencies: ["Bottleneck", "BottleneckServe", .product(name: "Logging", package: "swift-log")],
                    path: "Tests/BottleneckTests"),
    ]
)
