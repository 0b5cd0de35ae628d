import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData

/// Reconstruction quality on a dataset: MSE, RMSE, PSNR, L1, and BCE when the data lies in [0, 1].
/// Every figure is pooled over all values and computed by `SampleMetrics` with the training
/// losses' terms: `bce` is what a BCE training loss gives (a final sigmoid folded into BCE from
/// logits, logs clamped at -100).
public struct ReconstructionMetrics: Codable, Equatable {
    /// The number of samples evaluated.
    public var samples: Int
    /// Mean squared error per value.
    public var mse: Double
    /// The root of `mse`.
    public var rmse: Double
    /// 10 log10(1 / MSE): data in [0, 1] has peak value 1 (`SampleMetrics.psnr`).
    public var psnr: Double
    /// Mean absolute error per value.
    public var l1: Double
    /// Binary cross-entropy per value, as the BCE training loss computes it; nil unless the data lie in [0, 1].
    public var bce: Double?
    /// VAEs: test negative ELBO per sample (one latent sample each, generator seed 1234) and its KL part.
    public var negativeELBO: Double?
    public var kl: Double?
    /// The model's training objective on the data (`objectiveLoss`), when asked for.
    public var objective: Double?
}

/// Evaluates `model` on every sample of `data` (eval mode, no gradients), in batches.
public func evaluateReconstruction(_ model: Autoencoder, on data: Dataset, batchSize: Int = 1000) throws -> ReconstructionMetrics {
    let unitRange = data.inputs.minValue >= 0 && data.inputs.maxValue <= 1
    let sums = try reconstructionTermSums(model, on: data, kinds: unitRange ? [.mse, .l1, .bce] : [.mse, .l1], batchSize: batchSize)
    let n = Double(max(data.inputs.count, 1))
    let mse = sums[.mse]! / n
    var m = ReconstructionMetrics(samples: data.count, mse: mse, rmse: SampleMetrics.figure(.rmse, meanOfTerms: mse),
                                  psnr: SampleMetrics.psnr(mse: mse), l1: sums[.l1]! / n, bce: sums[.bce].map { $0 / n })
    if let vae = try variationalObjective(of: model) {
        let elbo = vae.negativeELBO(model, on: data, rng: RandomGenerator(seed: 1234))
        m.negativeELBO = elbo.total
        m.kl = elbo.kl
    }
    return m
}

/// Each sample's reconstruction errors (eval mode, no gradients): MSE and L1 per value, and BCE
/// as the BCE training loss computes it when the data lie in [0, 1]. Their means over samples
/// are `evaluateReconstruction`'s figures.
public struct SampleErrors: Equatable {
    public var mse: [Double]
    public var l1: [Double]
    public var bce: [Double]?
}

public func reconstructionErrorsPerSample(_ model: Autoencoder, on data: Dataset, batchSize: Int = 1000) throws -> SampleErrors {
    try model.checkInput(data.sampleShape, source: data.source)
    let unitRange = data.inputs.minValue >= 0 && data.inputs.maxValue <= 1
    model.eval()
    var errors = SampleErrors(mse: [], l1: [], bce: unitRange ? [] : nil)
    withoutGradients {
        for x in data.sequentialBatches(size: batchSize) {
            let decoded = model.decodeForLoss(unitRange ? .bce : .mse, code: model.encode(x))
            let r = decoded.reconstruction
            errors.mse += SampleMetrics.perSample(.mse, r, x)
            errors.l1 += SampleMetrics.perSample(.l1, r, x)
            if unitRange { errors.bce! += SampleMetrics.perSample(decoded.kind, decoded.output, x) }
        }
    }
    return errors
}

/// The reconstruction loss of `kind` over every value of `data` (eval mode, no gradients), as
/// training computes it (`Autoencoder.reconstructionLoss`: a final sigmoid folded into BCE),
/// pooled over all values instead of averaged over batches.
public func evaluateReconstructionLoss(_ kind: LossKind, of model: Autoencoder, on data: Dataset, batchSize: Int = 1000) throws -> Double {
    let sum = try reconstructionTermSums(model, on: data, kinds: [kind], batchSize: batchSize)[kind]!
    return SampleMetrics.figure(kind, meanOfTerms: sum / Double(max(data.inputs.count, 1)))
}

/// The sums over every value of `data` of the terms of each of `kinds`, on the model's
/// reconstruction through its code, with `decodeForLoss`'s folding rule.
private func reconstructionTermSums(_ model: Autoencoder, on data: Dataset, kinds: [LossKind], batchSize: Int) throws -> [LossKind: Double] {
    try model.checkInput(data.sampleShape, source: data.source)
    model.eval()
    var sums = [LossKind: Double]()
    for kind in kinds { sums[kind] = 0 }
    withoutGradients {
        for x in data.sequentialBatches(size: batchSize) {
            // One decode: the logits when BCE folds a final sigmoid, and their sigmoid for the rest.
            let decoded = model.decodeForLoss(kinds.contains(.bce) ? .bce : .mse, code: model.encode(x))
            let reconstruction = decoded.reconstruction
            for kind in kinds {
                sums[kind]! += kind == .bce ? SampleMetrics.termSum(decoded.kind, decoded.output, x)
                                            : SampleMetrics.termSum(kind, reconstruction, x)
            }
        }
    }
    return sums
}

/// The variational objective of a VAE model (built from its variant), nil for other models: the
/// likelihood its negative ELBO is measured with.
public func variationalObjective(of model: Autoencoder) throws -> VariationalObjective? {
    guard model.isVariational else { return nil }
    var objective = try Variants.objective(model.spec.variant, model: model, loss: .bce, rng: RandomGenerator(seed: 0))
    if let wrapped = objective as? LatentConsistencyObjective { objective = wrapped.base }
    return objective as? VariationalObjective
}

/// Runs the model over a dataset in batches without gradients (eval mode), gathering outputs.
public func mapBatches(_ data: Dataset, batchSize: Int = 1000, _ f: (Tensor) -> Tensor) -> Tensor {
    withoutGradients {
        let parts = data.sequentialBatches(size: batchSize).map(f)
        return parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 0)
    }
}

/// The mean over `data` of `objective`'s loss (the training loss: reconstruction plus the
/// variant's terms), in eval mode, without gradients. Objectives that draw noise use a fixed
/// generator, so the number is comparable between calls.
public func objectiveLoss(_ objective: Objective, model: Autoencoder, on data: Dataset, batchSize: Int = 1000) -> Double {
    model.eval()
    let rng = RandomGenerator(seed: 0x5EED)
    var sum = 0.0
    withoutGradients {
        for x in data.sequentialBatches(size: batchSize) {
            sum += Double(objective.loss(model: model, input: x, rng: rng).total.item) * Double(x.shape[0])
        }
    }
    return sum / Double(max(data.count, 1))
}
