import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// How a linear probe is trained.
public struct ProbeConfig: Codable, Equatable {
    public enum Optimizer: String, Codable, CaseIterable {
        /// Full-batch L-BFGS to convergence (the problem is convex: the optimum is unique).
        case lbfgs
        /// Mini-batch Adam with a cosine decay, for sets too large for full batches.
        case adam
    }

    public var optimizer = Optimizer.lbfgs
    /// Weight of the L2 penalty l2 * sum(W^2) (the bias is not penalised); nil: chosen from
    /// `l2Grid` by accuracy on a held-out tenth of the training data.
    public var l2: Float?
    public static let l2Grid: [Float] = [1e-5, 1e-4, 1e-3, 1e-2]
    /// L-BFGS: iteration limit; stops earlier when the largest gradient entry is below `tolerance`.
    public var maxIterations = 500
    public var tolerance: Float = 1e-4
    /// Adam: epochs, batch size and starting rate.
    public var epochs = 20
    public var batchSize = 256
    public var learningRate: Float = 3e-2
    /// Seeds the validation split (and Adam's batch order).
    public var seed: UInt64 = 0

    public init() {}

    public func validate() throws {
        guard maxIterations >= 1 else { throw BottleneckError.invalid(.maxIterations, "must be at least 1, got \(maxIterations)") }
        guard epochs >= 1 else { throw BottleneckError.invalid(.epochs, "must be at least 1, got \(epochs)") }
        guard batchSize >= 1 else { throw BottleneckError.invalid(.batchSize, "must be at least 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw BottleneckError.invalid(.learningRate, "must be positive, got \(learningRate)") }
        if let l2 { guard l2 >= 0, l2.isFinite else { throw BottleneckError.invalid(.l2, "must be zero or positive, got \(l2)") } }
    }
}

/// A linear probe: multinomial logistic regression (softmax) on standardised features. How well
/// a linear classifier reads the classes off a representation is a standard measure of what the
/// representation keeps.
public struct LinearProbe {
    /// Per-feature standardisation fitted on the training features (a constant feature gets std 1).
    public let mean: Tensor, std: Tensor
    public let weight: Tensor   // [classes, features]
    public let bias: Tensor     // [classes]
    public let l2: Float
    /// L-BFGS iterations or Adam steps taken.
    public let steps: Int
    public var classes: Int { weight.shape[0] }
    public var features: Int { weight.shape[1] }

    /// Trains on `features` [N, d] with labels in 0..<classes (default: the largest label + 1),
    /// minimising mean cross-entropy + l2 * |W|^2 (gradients by our autodiff).
    public static func fit(_ features: Tensor, labels: [Int], classes: Int? = nil, config: ProbeConfig = ProbeConfig()) throws -> LinearProbe {
        try config.validate()
        guard features.rank == 2, features.shape[0] == labels.count else {
            throw BottleneckError("probe: \(labels.count) labels for features of shape \(formatShape(features.shape))")
        }
        guard labels.count >= 2 else { throw BottleneckError("probe: needs at least 2 labelled samples, got \(labels.count)") }
        guard let low = labels.min(), low >= 0 else { throw BottleneckError("probe: labels must be 0, 1, 2, ... (got a negative label)") }
        let c = classes ?? (labels.max()! + 1)
        guard c >= 2, labels.allSatisfy({ $0 < c }), Set(labels).count >= 2 else {
            throw BottleneckError("probe: needs labels of at least 2 classes in 0..<\(c)")
        }
        try validateFinite(features, source: "probe features")
        guard let l2 = config.l2 else {
            let chosen = try selectL2(features, labels: labels, classes: c, config: config)
            var fixed = config
            fixed.l2 = chosen
            return try fit(features, labels: labels, classes: c, config: fixed)
        }
        let n = features.shape[0], d = features.shape[1]
        let mean = Tensor(shape: [d]), std = Tensor(shape: [d])
        for j in 0..<d {
            var s = 0.0, s2 = 0.0
            for r in 0..<n { let v = Double(features.data[r * d + j]); s += v; s2 += v * v }
            let m = s / Double(n), variance = max(0, s2 / Double(n) - m * m)
            mean.data[j] = Float(m)
            std.data[j] = variance > 1e-12 ? Float(variance.squareRoot()) : 1
        }
        let z = standardize(features, mean: mean, std: std)
        // Zero start: the problem is convex, so the optimum does not depend on the starting point.
        let weight = Tensor(shape: [c, d]), bias = Tensor(shape: [c])
        weight.requiresGrad = true
        bias.requiresGrad = true
        let steps: Int
        switch config.optimizer {
        case .lbfgs: steps = minimizeLBFGS(z, labels: labels, weight: weight, bias: bias, l2: l2, config: config)
        case .adam: steps = minimizeAdam(z, labels: labels, weight: weight, bias: bias, l2: l2, config: config)
        }
        weight.requiresGrad = false
        bias.requiresGrad = false
        return LinearProbe(mean: mean, std: std, weight: weight, bias: bias, l2: l2, steps: steps)
    }

    /// The penalty from `ProbeConfig.l2Grid` with the best accuracy on a seeded tenth of the
    /// training data, the probe fitted on the other nine tenths (ties: the stronger penalty).
    public static func selectL2(_ features: Tensor, labels: [Int], classes: Int, config: ProbeConfig) throws -> Float {
        let n = labels.count, order = RandomGenerator(seed: config.seed ^ 0x9E0B).permutation(n)
        let held = max(1, n / 10)
        let validation = Array(order[..<held]).sorted(), fitting = Array(order[held...]).sorted()
        let xf = withoutGradients { features.gather(rows: fitting) }, xv = withoutGradients { features.gather(rows: validation) }
        var best: (Float, Double)?
        for l2 in ProbeConfig.l2Grid {
            var c = config
            c.l2 = l2
            let probe = try fit(xf, labels: fitting.map { labels[$0] }, classes: classes, config: c)
            let acc = try probe.accuracy(xv, labels: validation.map { labels[$0] })
            if best == nil || acc >= best!.1 { best = (l2, acc) }
        }
        return best!.0
    }

    /// The objective and its gradient at the current weight and bias.
    private static func objective(_ z: Tensor, _ labels: [Int], _ weight: Tensor, _ bias: Tensor, _ l2: Float) -> Float {
        weight.zeroGrad()
        bias.zeroGrad()
        let loss = softmaxCrossEntropy(z.linear(weight: weight, bias: bias), labels: labels) + (weight * weight).sum() * l2
        loss.backward()
        return loss.item
    }

    /// Full-batch L-BFGS (10 pairs of memory, strong-Wolfe line search) until the largest
    /// gradient entry is below the tolerance, no step changes the float weights, or the line
    /// search finds no lower value. Returns the iterations taken.
    static func minimizeLBFGS(_ z: Tensor, labels: [Int], weight: Tensor, bias: Tensor, l2: Float, config: ProbeConfig) -> Int {
        let optimizer = LineSearchOptimizer(parameters: [weight, bias], rule: { LBFGSRule(dimension: $0, memory: 10) },
                                            tolerances: Tolerances(gradient: Double(config.tolerance)))
        while optimizer.minimizer.iterations < config.maxIterations {
            // A failed line search leaves the weights at the last good point: as converged as float allows.
            guard let report = try? optimizer.iterate(sameFunction: true, loss: { Double(objective(z, labels, weight, bias, l2)) }),
                  report.stop == nil else { break }
        }
        return optimizer.minimizer.iterations
    }

    /// Mini-batch Adam with a cosine decay of the rate to 0. Returns the steps taken.
    static func minimizeAdam(_ z: Tensor, labels: [Int], weight: Tensor, bias: Tensor, l2: Float, config: ProbeConfig) -> Int {
        let rng = RandomGenerator(seed: config.seed)
        let optimizer = Adam(parameters: [weight, bias], learningRate: config.learningRate)
        let schedule = LearningRateSchedule.cosine(period: nil, minimum: 0)
        let data = Dataset(inputs: z, labels: labels, source: "probe features")
        var steps = 0
        for epoch in 0..<config.epochs {
            optimizer.learningRate = schedule.rate(base: config.learningRate, step: 0, epoch: epoch, totalEpochs: config.epochs)
            for batch in data.batchIndices(batchSize: config.batchSize, shuffle: rng) {
                _ = objective(data.batch(batch), batch.map { labels[$0] }, weight, bias, l2)
                optimizer.step()
                steps += 1
            }
        }
        return steps
    }

    /// Class scores [N, classes].
    public func logits(_ features: Tensor) throws -> Tensor {
        guard features.rank == 2, features.shape[1] == self.features else {
            throw BottleneckError("probe: features of shape \(formatShape(features.shape)), the probe was trained on \(self.features) per sample")
        }
        let z = Self.standardize(features, mean: mean, std: std)
        return withoutGradients { z.linear(weight: weight, bias: bias) }
    }

    public func predict(_ features: Tensor) throws -> [Int] { try logits(features).argmax(axis: 1) }

    /// Fraction of `labels` predicted right.
    public func accuracy(_ features: Tensor, labels: [Int]) throws -> Double {
        let p = try predict(features)
        guard p.count == labels.count else { throw BottleneckError("probe: \(labels.count) labels for \(p.count) samples") }
        return Double(zip(p, labels).filter { $0 == $1 }.count) / Double(max(labels.count, 1))
    }

    static func standardize(_ x: Tensor, mean: Tensor, std: Tensor) -> Tensor {
        let n = x.shape[0], d = x.shape[1]
        let out = Tensor(shape: [n, d], zeroed: false)
        withExtendedLifetime(x) {
            for r in 0..<n { for j in 0..<d { out.data[r * d + j] = (x.data[r * d + j] - mean.data[j]) / std.data[j] } }
        }
        return out
    }
}

/// A probe's figures on one representation.
public struct ProbeResult: Codable, Equatable {
    public var representation: String
    public var features: Int
    public var trainSamples: Int
    public var testSamples: Int
    public var l2: Float
    public var steps: Int
    public var trainAccuracy: Double
    public var testAccuracy: Double
    public var seconds: Double
}

extension LinearProbe {
    /// Fits on (train, trainLabels), measures on (test, testLabels).
    public static func evaluate(_ representation: String, train: Tensor, trainLabels: [Int], test: Tensor, testLabels: [Int],
                                config: ProbeConfig = ProbeConfig()) throws -> ProbeResult {
        let start = Date()
        let classes = max(trainLabels.max() ?? 0, testLabels.max() ?? 0) + 1
        let probe = try fit(train, labels: trainLabels, classes: classes, config: config)
        return ProbeResult(representation: representation, features: train.shape[1], trainSamples: trainLabels.count, testSamples: testLabels.count,
                           l2: probe.l2, steps: probe.steps,
                           trainAccuracy: try probe.accuracy(train, labels: trainLabels), testAccuracy: try probe.accuracy(test, labels: testLabels),
                           seconds: Date().timeIntervalSince(start))
    }
}
