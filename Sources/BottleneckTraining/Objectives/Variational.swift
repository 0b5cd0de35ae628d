import BottleneckCore
import BottleneckNN
import BottleneckData
/// Variational autoencoder: the encoder gives a Gaussian over the latent (mean, log-variance), a
/// sample z = mean + e * exp(logvar / 2) is decoded, and the loss is the negative ELBO:
/// reconstruction (summed over values, averaged over the batch) + beta * KL(q(z|x) || N(0, I)),
/// with beta optionally warmed up linearly from 0.
public final class VariationalObjective: Objective {
    public typealias Likelihood = VAELikelihood

    public let beta: Float
    public let warmupSteps: Int
    public let likelihood: Likelihood
    /// Steps taken, saved in checkpoints so warm-up resumes where it was.
    public let stepCounter = Tensor(shape: [])

    public var randomness: String? { "the VAE samples its code (and its KL warm-up changes the loss every step)" }

    public init(beta: Float = 1, warmupSteps: Int = 0, likelihood: Likelihood = .bernoulli) {
        self.beta = beta
        self.warmupSteps = warmupSteps
        self.likelihood = likelihood
    }
    public var name: String { "variational (beta \(beta), \(likelihood.rawValue))" }
    public var extraState: [(String, Tensor)] { [("steps", stepCounter)] }

    public var currentBeta: Float {
        warmupSteps > 0 ? beta * min(1, stepCounter.data[0] / Float(warmupSteps)) : beta
    }

    public func loss(model: Autoencoder, input: Tensor, rng: RandomGenerator) -> LossTerms {
        let (mean, logVariance) = model.encodeDistribution(input)
        let eps = Tensor.normal(mean.shape, rng: rng)
        let z = mean + (logVariance * 0.5).exp() * eps
        let (recon, r) = reconstructionTerm(model, z, input)
        let kl = gaussianKL(mu: mean, logvar: logVariance)
        let b = currentBeta
        return LossTerms(total: recon + kl * b, parts: [("reconstruction", recon.item), ("kl", kl.item), ("beta", b)],
                         code: mean, reconstruction: r)
    }

    public func afterStep(model: Autoencoder, input: Tensor, rng: RandomGenerator) { stepCounter.data[0] += 1 }

    /// -log p(x|z) summed over each sample's values, averaged over the batch.
    func reconstructionTerm(_ model: Autoencoder, _ z: Tensor, _ x: Tensor) -> (Tensor, Tensor) {
        switch likelihood {
        case .bernoulli: return model.reconstructionLoss(.bce, code: z, target: x, reduction: .batchMean)
        case .gaussian:
            let r = model.decode(z)
            return (mseLoss(r, x, reduction: .batchMean) * 0.5, r)
        }
    }

    /// Test negative ELBO per sample, one latent sample per sample, and its two parts (nats per
    /// sample, beta left out).
    public func negativeELBO(_ model: Autoencoder, on data: Dataset, rng: RandomGenerator, batchSize: Int = 1000) -> (total: Double, reconstruction: Double, kl: Double) {
        model.eval()
        var total = 0.0, kl = 0.0
        withoutGradients {
            for x in data.sequentialBatches(size: batchSize) {
                let batch = negativeELBOPerSample(model, x, rng: rng)
                total += batch.total.reduce(0, +)
                kl += batch.kl.reduce(0, +)
            }
        }
        let n = Double(max(data.count, 1))
        return (total / n, (total - kl) / n, kl / n)
    }

    /// The negative ELBO of each sample of the batch `x` (no gradients): KL(q(z|x) || N(0, I)) plus
    /// the likelihood's negative log-likelihood summed over the sample's values, averaged over
    /// `latentSamples` draws of z from `rng`; the same terms as `loss` (`SampleMetrics`, the
    /// decoder's final sigmoid folded as in training).
    public func negativeELBOPerSample(_ model: Autoencoder, _ x: Tensor, rng: RandomGenerator, latentSamples: Int = 1) -> (total: [Double], kl: [Double]) {
        withoutGradients {
            let (mean, logVariance) = model.encodeDistribution(x)
            let kl = SampleMetrics.gaussianKL(mean: mean, logVariance: logVariance)
            var total = [Double](repeating: 0, count: kl.count)
            let std = (logVariance * 0.5).exp()
            for _ in 0..<latentSamples {
                let z = mean + std * Tensor.normal(mean.shape, rng: rng)
                let draw: [Double]
                switch likelihood {
                case .bernoulli:
                    let decoded = model.decodeForLoss(.bce, code: z)
                    draw = SampleMetrics.negativeELBO(decoded.kind, prediction: decoded.output, target: x, kl: kl)
                case .gaussian:
                    draw = SampleMetrics.negativeELBO(.mse, scale: 0.5, prediction: model.decode(z), target: x, kl: kl)
                }
                for i in total.indices { total[i] += draw[i] / Double(latentSamples) }
            }
            return (total, kl)
        }
    }
}
