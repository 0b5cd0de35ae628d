import Bottleneck
import Foundation

/// An architecture file as `summary --arch FILE` reads it, then the model built for its input
/// shape (the file's, else summary's default 1x28x28).
func fuzzArchitecture(_ data: Data) throws {
    guard let text = String(data: data, encoding: .utf8) else { return }  // readTextFile refuses it
    let spec = try decodeJSON(ArchitectureSpec.self, text, source: "fuzz.json")
    // Below the harness's 2 GB malloc limit: a model past it must be refused, not allocated.
    _ = try Autoencoder(spec: spec, inputShape: spec.inputShape ?? [1, 28, 28], rng: RandomGenerator(seed: 0), memoryLimit: fuzzMemoryLimit)
}
