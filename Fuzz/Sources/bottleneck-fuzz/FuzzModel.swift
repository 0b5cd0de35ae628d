import Bottleneck
import Foundation

/// A model file as `eval --model` opens it; a model that loads then runs one forward pass on a
/// zero sample of its input shape, where an architecture's size turns into allocations.
func fuzzModel(_ data: Data) throws {
    let bundle = try withTemporaryFile(data, suffix: ".safetensors") { try TrainedModel.load($0) }
    let model = bundle.model
    withoutGradients { _ = model(Tensor.zeros([1] + model.inputShape)) }
}
