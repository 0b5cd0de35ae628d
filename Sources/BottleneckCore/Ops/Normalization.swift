/// Batch normalisation, fused: one pass per channel forward and one backward, for inputs
/// [N, C] or [N, C, spatial...] (channel on axis 1).
extension Tensor {
    /// The statistics of one training batch, per channel: the mean and the biased variance
    /// (what normalised it), and how many values each channel had (for the unbiased variance).
    public struct BatchStatistics {
        public let mean: [Float]
        public let variance: [Float]
        public let valuesPerChannel: Int

        /// The unbiased variance PyTorch keeps in `running_var` (the biased one when only one value).
        public var unbiasedVariance: [Float] {
            let m = Float(valuesPerChannel)
            return valuesPerChannel > 1 ? variance.map { $0 * m / (m - 1) } : variance
        }
    }

    /// Splits [N, C, ...] into (batch, channels, values per sample and channel).
    private func channelLayout(weight: Tensor, bias: Tensor, _ op: String) -> (n: Int, c: Int, inner: Int) {
        precondition(rank >= 2, "\(op): input must be [N, C] or [N, C, ...], shape is \(shape)")
        let c = shape[1]
        precondition(weight.shape == [c] && bias.shape == [c],
                     "\(op): weight \(weight.shape) and bias \(bias.shape) do not fit \(c) channels")
        return (shape[0], c, shape[2...].reduce(1, *))
    }

    /// Training-mode batch norm: normalises each channel with this batch's mean and biased variance,
    /// then scales by `weight` (gamma) and shifts by `bias` (beta). The gradient flows through the
    /// batch mean and variance. Also returns the statistics, for the running averages.
    public func batchNormTraining(weight: Tensor, bias: Tensor, eps: Float = 1e-5) -> (output: Tensor, statistics: BatchStatistics) {
        let x = self
        let (n, c, inner) = channelLayout(weight: weight, bias: bias, "batchNorm")
        let m = n * inner
        var mean = [Float](repeating: 0, count: c), variance = mean, invStd = mean
        let xv = x.data
        for ch in 0..<c {
            // Two passes in Double: sums of many Floats lose digits, and E[x^2]-E[x]^2 cancels.
            var s: Double = 0
            for b in 0..<n { s += DoubleSums.sum(xv + (b * c + ch) * inner, inner) }
            let mu = s / Double(Swift.max(m, 1))
            var ss: Double = 0
            for b in 0..<n { ss += DoubleSums.squaredDeviations(xv + (b * c + ch) * inner, inner, mean: mu) }
            let v = ss / Double(Swift.max(m, 1))
            mean[ch] = Float(mu); variance[ch] = Float(v)
            invStd[ch] = Float(1 / (v + Double(eps)).squareRoot())
        }
        let out = Tensor.result(shape: shape, parents: [x, weight, bias]) { [mean, invStd] out in
            let g = out.grad!, gamma = weight.data
            // Written, not added, when x holds no gradient yet (saves zeroing a buffer to add to it).
            let (dx, addToDx) = x.requiresGrad ? x.gradDestination() : (nil, false)
            let dgamma = weight.requiresGrad ? weight.gradBuffer() : nil
            let dbeta = bias.requiresGrad ? bias.gradBuffer() : nil
            for ch in 0..<c {
                let mu = mean[ch], istd = invStd[ch]
                var sumG: Double = 0, sumGXhat: Double = 0
                for b in 0..<n {
                    let off = (b * c + ch) * inner
                    let (sg, sgx) = DoubleSums.gradientAndCentred(g + off, xv + off, inner, mean: mu, invStd: istd)
                    sumG += sg
                    sumGXhat += sgx
                }
                dgamma?[ch] += Float(sumGXhat)
                dbeta?[ch] += Float(sumG)
                guard let dx else { continue }
                // dx = gamma*istd/M * (M*g - sum(g) - xhat*sum(g*xhat))
                let meanG = Float(sumG / Double(m)), meanGXhat = Float(sumGXhat / Double(m)), k = gamma[ch] * istd
                for b in 0..<n {
                    let off = (b * c + ch) * inner, p = xv + off, gp = g + off, d = dx + off
                    if addToDx {
                        for i in 0..<inner { d[i] += k * (gp[i] - meanG - (p[i] - mu) * istd * meanGXhat) }
                    } else {
                        for i in 0..<inner { d[i] = k * (gp[i] - meanG - (p[i] - mu) * istd * meanGXhat) }
                    }
                }
            }
        }
        Self.normalize(xv, into: out.data, n: n, c: c, inner: inner, weight: weight, bias: bias, mean: mean, invStd: invStd)
        return (out, BatchStatistics(mean: mean, variance: variance, valuesPerChannel: m))
    }

    /// Evaluation-mode batch norm: normalises with given (running) statistics, which get no gradient.
    public func batchNormInference(weight: Tensor, bias: Tensor, runningMean: Tensor, runningVariance: Tensor,
                                   eps: Float = 1e-5) -> Tensor {
        let x = self
        let (n, c, inner) = channelLayout(weight: weight, bias: bias, "batchNorm")
        precondition(runningMean.shape == [c] && runningVariance.shape == [c],
                     "batchNorm: running statistics \(runningMean.shape), \(runningVariance.shape) do not fit \(c) channels")
        var mean = [Float](repeating: 0, count: c), invStd = mean
        for ch in 0..<c {
            mean[ch] = runningMean.data[ch]
            invStd[ch] = 1 / (runningVariance.data[ch] + eps).squareRoot()
        }
        let xv = x.data
        let out = Tensor.result(shape: shape, parents: [x, weight, bias]) { [mean, invStd] out in
            let g = out.grad!, gamma = weight.data
            let dx = x.requiresGrad ? x.gradBuffer() : nil
            let dgamma = weight.requiresGrad ? weight.gradBuffer() : nil
            let dbeta = bias.requiresGrad ? bias.gradBuffer() : nil
            for ch in 0..<c {
                let mu = mean[ch], istd = invStd[ch], k = gamma[ch] * istd
                var sumG: Double = 0, sumGXhat: Double = 0
                for b in 0..<n {
                    let off = (b * c + ch) * inner, p = xv + off, gp = g + off
                    for i in 0..<inner { sumG += Double(gp[i]); sumGXhat += Double(gp[i] * (p[i] - mu) * istd) }
                    if let dx { let d = dx + off; for i in 0..<inner { d[i] += k * gp[i] } }
                }
                dgamma?[ch] += Float(sumGXhat)
                dbeta?[ch] += Float(sumG)
            }
        }
        Self.normalize(xv, into: out.data, n: n, c: c, inner: inner, weight: weight, bias: bias, mean: mean, invStd: invStd)
        return out
    }

    /// The forward pass both modes share: y = (x - mean) * invStd * weight + bias, per channel,
    /// folded into one scale and shift.
    private static func normalize(_ x: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>, n: Int, c: Int, inner: Int,
                                  weight: Tensor, bias: Tensor, mean: [Float], invStd: [Float]) {
        for ch in 0..<c {
            let scale = weight.data[ch] * invStd[ch], shift = bias.data[ch] - mean[ch] * scale
            for b in 0..<n {
                let off = (b * c + ch) * inner, p = x + off, q = out + off
                for i in 0..<inner { q[i] = p[i] * scale + shift }
            }
        }
    }
}
