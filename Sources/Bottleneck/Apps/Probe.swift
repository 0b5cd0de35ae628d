import Foundation

/// How a linear probe is trained.
public struct ProbeConfig: Codable, Equatable {
    public var epochs = 20
    public var batchSize = 256
    /// Adam's rate at the start; it decays to 0 along a cosine over the epochs.
    public var learningRate: Float = 3e-3
    /// Weight of the L2 penalty l2 * sum(W^2) (the bias is not penalised).
    public var l2: Float = 1e-4
    public var seed: UInt64 = 0

    public init() {}

    public func validate() throws {
        guard epochs >= 1 else { throw BottleneckError("--epochs must be at least 1, got \(epochs)") }
        guard batchSize >= 1 else { throw BottleneckError("--batch-size must be at least 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw BottleneckError("--lr must be positive, got \(learningRate)") }
        guard l2 >= 0, l2.isFinite else { throw BottleneckError("--l2 must be zero or positive, got \(l2)") }
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
    public var classes: Int { weight.shape[0] }
    public var features: Int { weight.shape[1] }

    /// Trains on `features` [N, d] with labels in 0..<classes (default: the largest label + 1),
    /// minimising mean cross-entropy + l2 * |W|^2 with Adam (our autodiff) on shuffled batches.
    public static func fit(_ features: Tensor, labels: [Int], classes: Int? = nil, config: ProbeConfig = ProbeConfig()) throws -> LinearProbe {
        try config.validate()
        guard features.rank == 2, features.shape[0] == labels.count else {
            throw BottleneckError("probe: \(labels.count) labels for features of shape \(formatShape(features.shape))")
        }
        guard labels.count >= 2 else { throw BottleneckError("probe: needs at least 2 labelled samples, got \(labels.count)") }
        guard let low = labels.min(), low >= 0 else { throw BottleneckError("probe: labels must be 0, 1, 2, ... (got a negative label)") }
        let c = classes ?? (labels.max()! + 1)
        guard c >= 2, labels.allSatisfy({ $0 < c }) else { throw BottleneckError("probe: needs labels of at least 2 classes in 0..<\(c)") }
        try validateFinite(features, source: "probe features")
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
        let rng = RandomGenerator(seed: config.seed)
        // Zero start: the problem is convex, so the optimum does not depend on the starting point.
        let weight = Tensor(shape: [c, d]), bias = Tensor(shape: [c])
        weight.requiresGrad = true
        bias.requiresGrad = true
        let optimizer = Adam(parameters: [weight, bias], learningRate: config.learningRate)
        let schedule = LearningRateSchedule.cosine(period: nil, minimum: 0)
        let data = Dataset(inputs: z, labels: labels, source: "probe features")
        for epoch in 0..<config.epochs {
            optimizer.learningRate = schedule.rate(base: config.learningRate, step: 0, epoch: epoch, totalEpochs: config.epochs)
            for batch in data.batchIndices(batchSize: config.batchSize, shuffle: rng) {
                let x = data.batch(batch)
                let loss = softmaxCrossEntropy(x.linear(weight: weight, bias: bias), labels: batch.map { labels[$0] })
                    + (weight * weight).sum() * config.l2
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
            }
        }
        weight.requiresGrad = false
        bias.requiresGrad = false
        return LinearProbe(mean: mean, std: std, weight: weight, bias: bias)
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
                           trainAccuracy: try probe.accuracy(train, labels: trainLabels), testAccuracy: try probe.accuracy(test, labels: testLabels),
                           seconds: Date().timeIntervalSince(start))
    }
}
