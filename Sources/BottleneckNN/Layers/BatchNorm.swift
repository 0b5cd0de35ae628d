import BottleneckCore
/// Batch normalisation over the channel axis (axis 1), as PyTorch's BatchNorm1d/2d: parameters
/// `weight` (ones) and `bias` (zeros); buffers `running_mean` (zeros), `running_var` (ones) and
/// `num_batches_tracked`. Training mode normalises with the batch's statistics and moves the running
/// ones towards them by `momentum` (the unbiased variance, as PyTorch); eval mode uses the running ones.
public class BatchNorm: Module {
    public let features: Int
    public let momentum: Float
    public let eps: Float
    public let weight: Tensor, bias: Tensor
    public let runningMean: Tensor, runningVariance: Tensor
    /// PyTorch saves an int64 scalar; we keep a Float scalar.
    public let batchesTracked: Tensor
    /// Per-sample input ranks this layer accepts (channel first).
    let acceptedRanks: [Int]

    init(features: Int, momentum: Float, eps: Float, acceptedRanks: [Int]) {
        precondition(features > 0, "BatchNorm needs at least one feature")
        self.features = features
        self.momentum = momentum
        self.eps = eps
        self.acceptedRanks = acceptedRanks
        weight = parameter(.full([features], 1))
        bias = parameter(.zeros([features]))
        runningMean = .zeros([features])
        runningVariance = .full([features], 1)
        batchesTracked = Tensor(scalar: 0)
    }

    public override var localParameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }

    public override var localBuffers: [(String, Tensor)] {
        [("running_mean", runningMean), ("running_var", runningVariance), ("num_batches_tracked", batchesTracked)]
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(acceptedRanks.contains(x.rank - 1) && x.shape[1] == features,
                     "\(typeName)(\(features)): input shape \(x.shape) does not fit (\(expectedText))")
        guard isTraining else {
            return x.batchNormInference(weight: weight, bias: bias, runningMean: runningMean,
                                        runningVariance: runningVariance, eps: eps)
        }
        let (y, stats) = x.batchNormTraining(weight: weight, bias: bias, eps: eps)
        // A single value per channel says nothing about the variance: keep the running statistics.
        // (PyTorch refuses such a batch in training mode.)
        if stats.valuesPerChannel > 1 {
            let unbiased = stats.unbiasedVariance
            for c in 0..<features {
                runningMean.data[c] = (1 - momentum) * runningMean.data[c] + momentum * stats.mean[c]
                runningVariance.data[c] = (1 - momentum) * runningVariance.data[c] + momentum * unbiased[c]
            }
            batchesTracked.data[0] += 1
        }
        return y
    }

    var expectedText: String {
        let spatial = [1: "", 2: ", L", 3: ", H, W"]
        return acceptedRanks.map { "[\(features)\(spatial[$0] ?? "")]" }.joined(separator: " or ")
    }

    public override func outputShape(for input: [Int]) throws -> [Int] {
        guard acceptedRanks.contains(input.count), input[0] == features else {
            throw BottleneckError.shape(layer: "\(typeName)(\(features))", expected: expectedText, got: input)
        }
        return input
    }

    public override var details: String { "\(features), momentum \(momentum), eps \(eps)" }
}

/// Batch norm for [N, C] (or [N, C, L]) inputs, as PyTorch's BatchNorm1d.
public final class BatchNorm1D: BatchNorm {
    public init(_ features: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        super.init(features: features, momentum: momentum, eps: eps, acceptedRanks: [1, 2])
    }
}

/// Batch norm for [N, C, H, W] inputs, as PyTorch's BatchNorm2d.
public final class BatchNorm2D: BatchNorm {
    public init(_ features: Int, momentum: Float = 0.1, eps: Float = 1e-5) {
        super.init(features: features, momentum: momentum, eps: eps, acceptedRanks: [3])
    }
}
