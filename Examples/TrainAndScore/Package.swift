// swift-tools-version:5.9
// An example of a package that depends on Bottleneck. `bash scripts/example.sh` (from the
// Bottleneck checkout) tags a clone and sets BOTTLENECK_URL to it, so the dependency is taken by
// version exactly as from a published repository: `.package(url: URL, from: "1.0.0")`.
// Without BOTTLENECK_URL it takes the checkout two folders up (which then needs a tag 1.x).
import PackageDescription

let checkout = "file://" + Context.packageDirectory.split(separator: "/").dropLast(2).map { "/" + $0 }.joined()
let bottleneckURL = Context.environment["BOTTLENECK_URL"] ?? checkout

let package = Package(
    name: "TrainAndScore",
    dependencies: [
        .package(url: bottleneckURL, from: "1.0.0"),
    ],
    targets: [
        .executableTarget(name: "TrainAndScore", dependencies: [.product(name: "Bottleneck", package: "bottleneck")]),
    ]
)
