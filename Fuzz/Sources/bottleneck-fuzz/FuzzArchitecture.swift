import Bottleneck
import Foundation

/// An architecture file as `summary --arch FILE` reads it, then the model built for its input
/// shape (the file's, else summary's default 1x28x28).
func fuzzArchitecture(_ data: Data) throws {
    let spec = try withTemporaryFile(data, suffix: ".json") { try ArchitectureSpec.load(path: $0) }
    _ = try Autoencoder(spec: spec, inputShape: spec.inputShape ?? [1, 28, 28], rng: RandomGenerator(seed: 0))
}
