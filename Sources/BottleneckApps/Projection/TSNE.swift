import Foundation
import BottleneckCore

/// Exact t-SNE (van der Maaten and Hinton, 2008) to two dimensions, for maps of a few thousand
/// codes at most: O(n²) memory and time per iteration. Settings follow scikit-learn's defaults
/// (perplexity 30, early exaggeration 12 for 250 iterations, learning rate max(n / 48, 50),
/// momentum 0.5 then 0.8, per-coordinate gains, PCA initialisation scaled to a standard deviation
/// of 1e-4), so maps look like the ones users know. Deterministic: no random numbers are drawn.
public struct TSNE {
    public var perplexity = 30.0
    public var iterations = 1000
    public var earlyExaggeration = 12.0
    public var exaggerationIterations = 250

    public init(perplexity: Double = 30, iterations: Int = 1000) {
        self.perplexity = perplexity
        self.iterations = iterations
    }

    /// The 2-D embedding of the rows of `data` ([n, d]), as n (x, y) pairs.
    public func embed(_ data: Tensor) throws -> [(Double, Double)] {
        guard data.rank == 2 else { throw BottleneckError("t-SNE needs rows of features, got shape \(formatShape(data.shape))") }
        let n = data.shape[0]
        guard n >= 4 else { throw BottleneckError("t-SNE needs at least 4 samples, got \(n)") }
        let p = Self.affinities(data, perplexity: Swift.min(perplexity, Double(n - 1) / 3))
        var y = try Self.initialLayout(data)
        let rate = Swift.max(Double(n) / earlyExaggeration / 4, 50)
        var velocity = [Double](repeating: 0, count: 2 * n), gains = [Double](repeating: 1, count: 2 * n)
        var gradient = [Double](repeating: 0, count: 2 * n)
        var exaggerated = p.map { $0 * earlyExaggeration }
        var kernel: [Double] = []
        for it in 0..<iterations {
            if it == exaggerationIterations { exaggerated = p }
            let momentum = it < exaggerationIterations ? 0.5 : 0.8
            _ = Self.klDivergence(exaggerated, y, n: n, gradient: &gradient, kernel: &kernel, divergence: false)
            for k in 0..<(2 * n) {
                // Gains grow where the gradient keeps its sign against the step, shrink where it flips.
                gains[k] = (gradient[k] > 0) != (velocity[k] > 0) ? gains[k] + 0.2 : Swift.max(gains[k] * 0.8, 0.01)
                velocity[k] = momentum * velocity[k] - rate * gains[k] * gradient[k]
                y[k] += velocity[k]
            }
        }
        return (0..<n).map { (y[2 * $0], y[2 * $0 + 1]) }
    }

    /// The symmetric joint affinities p_ij (row-major n×n, summing to 1): each point's Gaussian
    /// conditional distribution with its bandwidth found by bisection so its perplexity matches.
    static func affinities(_ data: Tensor, perplexity: Double) -> [Double] {
        let n = data.shape[0], d = data.shape[1]
        var distances = [Double](repeating: 0, count: n * n)
        let x = data.data
        for i in 0..<n {
            for j in (i + 1)..<n {
                var s = 0.0
                for k in 0..<d { let t = Double(x[i * d + k]) - Double(x[j * d + k]); s += t * t }
                distances[i * n + j] = s
                distances[j * n + i] = s
            }
        }
        var conditional = [Double](repeating: 0, count: n * n)
        let target = log(perplexity)
        for i in 0..<n {
            var beta = 1.0, low = 0.0, high = Double.infinity
            for _ in 0..<100 {
                var sum = 0.0, weighted = 0.0
                for j in 0..<n where j != i {
                    let w = exp(-beta * distances[i * n + j])
                    conditional[i * n + j] = w
                    sum += w
                    weighted += w * distances[i * n + j]
                }
                sum = Swift.max(sum, 1e-300)
                let entropy = log(sum) + beta * weighted / sum
                for j in 0..<n where j != i { conditional[i * n + j] /= sum }
                if Swift.abs(entropy - target) < 1e-5 { break }
                if entropy > target { low = beta; beta = high.isFinite ? (beta + high) / 2 : beta * 2 }
                else { high = beta; beta = (beta + low) / 2 }
            }
        }
        var p = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0..<n where j != i {
                p[i * n + j] = Swift.max((conditional[i * n + j] + conditional[j * n + i]) / Double(2 * n), 1e-12)
            }
        }
        return p
    }

    /// KL(P || Q) of the layout `y` (n interleaved (x, y) pairs), with its gradient written to
    /// `gradient`: dC/dy_i = 4 Σ_j (p_ij − q_ij)(y_i − y_j) / (1 + |y_i − y_j|²). `kernel`
    /// (n×n) is scratch space, passed in so iterations allocate nothing.
    /// The divergence itself (a log per pair) is computed only when `divergence` is asked.
    static func klDivergence(_ p: [Double], _ y: [Double], n: Int, gradient: inout [Double], kernel: inout [Double], divergence: Bool = true) -> Double {
        if kernel.count != n * n { kernel = [Double](repeating: 0, count: n * n) }
        var kl = 0.0
        p.withUnsafeBufferPointer { p in
            y.withUnsafeBufferPointer { y in
                kernel.withUnsafeMutableBufferPointer { kernel in
                    gradient.withUnsafeMutableBufferPointer { g in
                        var z = 0.0
                        for i in 0..<n {
                            let xi = y[2 * i], yi = y[2 * i + 1]
                            kernel[i * n + i] = 0
                            for j in (i + 1)..<n {
                                let dx = xi - y[2 * j], dy = yi - y[2 * j + 1]
                                let w = 1 / (1 + dx * dx + dy * dy)
                                kernel[i * n + j] = w
                                kernel[j * n + i] = w
                                z += 2 * w
                            }
                        }
                        let inverseZ = 1 / z
                        for i in 0..<n {
                            var gx = 0.0, gy = 0.0
                            let xi = y[2 * i], yi = y[2 * i + 1]
                            for j in 0..<n where j != i {
                                let w = kernel[i * n + j], q = Swift.max(w * inverseZ, 1e-12), pij = p[i * n + j]
                                if divergence { kl += pij * log(pij / q) }
                                let f = 4 * (pij - q) * w
                                gx += f * (xi - y[2 * j])
                                gy += f * (yi - y[2 * j + 1])
                            }
                            g[2 * i] = gx
                            g[2 * i + 1] = gy
                        }
                    }
                }
            }
        }
        return kl
    }

    /// The first two principal components, scaled so the first has standard deviation 1e-4.
    static func initialLayout(_ data: Tensor) throws -> [Double] {
        let n = data.shape[0]
        let pca = try PCA.fit(data, components: Swift.min(2, data.shape[1]))
        let projected = pca.encode(data)
        let k = projected.shape[1]
        var y = [Double](repeating: 0, count: 2 * n)
        for i in 0..<n { for c in 0..<k { y[2 * i + c] = Double(projected.data[i * k + c]) } }
        let mean = (0..<n).map { y[2 * $0] }.reduce(0, +) / Double(n)
        let sd = sqrt((0..<n).map { (y[2 * $0] - mean) * (y[2 * $0] - mean) }.reduce(0, +) / Double(n))
        let scale = sd > 0 ? 1e-4 / sd : 1
        return y.map { $0 * scale }
    }
}
