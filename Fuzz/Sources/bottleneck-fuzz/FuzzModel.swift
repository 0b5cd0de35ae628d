import Bottleneck
import Foundation

/// A model file as `eval --model` opens it; a model that loads then runs one forward pass on a
/// zero sample of its input shape, where an architecture's size turns into allocations.
/// What a fuzzed model may need: the harness's 2 GB malloc limit must never be reached by a model
/// the library accepted.
let fuzzMemoryLimit = ByteCount(256 << 20)

func fuzzModel(_ data: Data) throws {
    let bundle = try TrainedModel.decode(data, source: "fuzz.safetensors", memoryLimit: fuzzMemoryLimit)
    let model = bundle.model
    withoutGradients { _ = model(Tensor.zeros([1] + model.inputShape)) }
}
