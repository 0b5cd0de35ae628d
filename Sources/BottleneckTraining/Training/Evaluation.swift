import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData

/// Reconstruction quality on a dataset: MSE, RMSE, PSNR, L1, and BCE when the data lies in [0, 1].
public struct ReconstructionMetrics: Codable, Equatable {
    public var samples: Int
    public var mse: Double
    public var rmse: Double
    /// 10 log10(1 / MSE): data in [0, 1] has peak value 1.
    public var psnr: Double
    public var l1: Double
    public var bce: Double?
    /// VAEs: test negative ELBO per sample (one latent sample each, generator seed 1234) and its KL part.
    public var negativeELBO: Double?
    public var kl: Double?
}

/// Evaluates `model` on every sample of `data` (eval mode, no gradients), in batches.
public func evaluateReconstruction(_ model: Autoencoder, on data: Dataset, batchSize: Int = 1000) throws -> ReconstructionMetrics {
    try model.checkInput(data.sampleShape, source: data.source)
    model.eval()
    var se = 0.0, ae = 0.0, ce = 0.0
    let unitRange = data.inputs.minValue >= 0 && data.inputs.maxValue <= 1
    withoutGradients {
        for x in data.sequentialBatches(size: batchSize) {
            let r = model(x)
            for i in 0..<x.count {
                let p = Double(r.data[i]), t = Double(x.data[i]), d = p - t
                se += d * d
                ae += Swift.abs(d)
                if unitRange {
                    let pc = min(max(p, 1e-7), 1 - 1e-7)
                    ce -= t * Foundation.log(pc) + (1 - t) * Foundation.log(1 - pc)
                }
            }
        }
    }
    let n = Double(max(data.inputs.count, 1))
    let mse = se / n
    var m = ReconstructionMetrics(samples: data.count, mse: mse, rmse: mse.squareRoot(), psnr: 10 * log10(1 / max(mse, 1e-12)),
                                  l1: ae / n, bce: unitRange ? ce / n : nil)
    if model.isVariational, let vae = try Variants.objective(model.spec.variant, model: model, loss: .bce, rng: RandomGenerator(seed: 0)) as? VariationalObjective {
        let elbo = vae.negativeELBO(model, on: data, rng: RandomGenerator(seed: 1234))
        m.negativeELBO = elbo.total
        m.kl = elbo.kl
    }
    return m
}

/// Runs the model over a dataset in batches without gradients (eval mode), gathering outputs.
public func mapBatches(_ data: Dataset, batchSize: Int = 1000, _ f: (Tensor) -> Tensor) -> Tensor {
    withoutGradients {
        let parts = data.sequentialBatches(size: batchSize).map(f)
        return parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 0)
    }
}
