import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData

/// The one training loop. Variants plug in through `Objective`; distributed training plugs in
/// through `gradientHook`, called between the backward pass and the optimizer step (where
/// gradients will be all-reduced). Every optimizer step of a batch, the model's and each of the
/// objective's `extraSteps`, goes through `takeStep`: hook, clipping and schedule apply to all.
public final class Trainer {
    public let model: Autoencoder
    public let objective: Objective
    public let config: TrainingConfig
    /// The run's one generator: shuffling, noise and dropout all draw from it.
    public let rng: RandomGenerator
    public let optimizer: Optimizer
    public private(set) var history: [EpochRecord] = []
    public private(set) var bestLoss = Double.infinity
    public private(set) var epochsSinceBest = 0

    /// Called after every backward pass with the parameters the coming optimizer step updates
    /// (the model's, then those of each objective step, e.g. the AAE discriminator's).
    public var gradientHook: ((_ parameters: [Tensor]) -> Void)?
    public var onBatch: ((BatchProgress) -> Void)?
    public var onEpoch: ((EpochRecord) -> Void)?
    /// Called after each completed epoch with whether it is the best so far; saves checkpoints.
    public var onCheckpoint: ((Trainer, _ isBest: Bool) throws -> Void)?

    public var epochsDone: Int { history.count }
    /// Set when a line-search optimizer has converged; `fit` stops after that epoch.
    public private(set) var convergence: MinimizationStop?
    /// Rows per forward pass when a line-search optimizer evaluates a large batch: the batch's
    /// loss and gradient are summed over chunks this size, so memory follows the chunk.
    public var evaluationChunk = 4096

    public init(model: Autoencoder, objective: Objective, config: TrainingConfig, rng: RandomGenerator) throws {
        try config.validate()
        self.model = model
        self.objective = objective
        self.config = config
        self.rng = rng
        optimizer = config.makeOptimizer(model.parameters)
        if optimizer is LineSearchOptimizer {
            let dropout = model.namedModules().contains { ($0.1 as? Dropout).map { $0.p > 0 } ?? false }
            if let reason = objective.randomness ?? (dropout ? "the model has dropout" : nil) {
                throw BottleneckError.invalid(.optimizer, "\(config.optimizer.name.rawValue) needs a deterministic loss, but \(reason); use adam, adamw or sgd")
            }
        }
    }

    /// Trains until `config.epochs` epochs are done (counting resumed ones), or early stopping.
    /// Throws if the loss diverges; the last checkpoint written stays the last good state.
    public func fit(train: Dataset, validation: Dataset? = nil) throws {
        try model.checkInput(train.sampleShape, source: train.source)
        if let validation { try model.checkInput(validation.sampleShape, source: validation.source) }
        while epochsDone < config.epochs {
            let record = try runEpoch(train: train, validation: validation)
            history.append(record)
            let monitored = record.validationLoss ?? record.trainLoss
            let isBest = monitored < bestLoss
            if isBest { bestLoss = monitored; epochsSinceBest = 0 } else { epochsSinceBest += 1 }
            onEpoch?(record)
            try onCheckpoint?(self, isBest)
            if let p = config.patience, epochsSinceBest >= p { break }
            if convergence != nil { break }
        }
    }

    private func runEpoch(train: Dataset, validation: Dataset?) throws -> EpochRecord {
        if let searching = optimizer as? LineSearchOptimizer { return try runSearchEpoch(searching, train: train, validation: validation) }
        model.train()
        let epoch = epochsDone + 1
        let batches = train.batchIndices(batchSize: config.batchSize, shuffle: rng)
        var tally = EpochTally(epoch: epoch, epochs: config.epochs, batches: batches.count)
        for (k, indices) in batches.enumerated() {
            let position = (step: (epoch - 1) * batches.count + k, epoch: epoch - 1)
            let x = train.batch(indices)
            let terms = objective.loss(model: model, input: x, rng: rng)
            let loss = Double(terms.total.item)
            guard loss.isFinite else {
                throw BottleneckError("training diverged: loss is \(loss) at epoch \(epoch), batch \(k + 1); the last checkpoint is kept (try a lower learning rate or gradient clipping)")
            }
            takeStep(optimizer as! StepOptimizer, baseLearningRate: config.learningRate, loss: terms.total, at: position)
            for extra in objective.extraSteps(model: model, input: x, rng: rng) {
                takeStep(extra.optimizer, baseLearningRate: extra.baseLearningRate, loss: extra.loss(), at: position)
            }
            objective.afterStep(model: model, input: x, rng: rng)
            tally.add(loss: loss, parts: terms.parts.map { ($0.0, Double($0.1)) }, count: indices.count)
            onBatch?(tally.progress(batch: k + 1))
        }
        return tally.record(learningRate: optimizer.learningRate) { validation.map { evaluateLoss($0) } }
    }

    /// An epoch of a line-search optimizer: one iteration per batch, each evaluating the batch's
    /// loss as often as its line search needs. The epoch's loss is the mean over batches of the
    /// loss after the iteration's step.
    private func runSearchEpoch(_ optimizer: LineSearchOptimizer, train: Dataset, validation: Dataset?) throws -> EpochRecord {
        model.train()
        let epoch = epochsDone + 1
        // Fixed batches in data order: each batch is one function, the same in every epoch
        // (shuffling would reorder the sums, and a line search compares values of one function).
        let batches = train.batchIndices(batchSize: config.batchSize, shuffle: nil)
        var tally = EpochTally(epoch: epoch, epochs: config.epochs, batches: batches.count)
        tally.evaluations = 0
        for (k, indices) in batches.enumerated() {
            let chunks = evaluationChunks(train.batch(indices))
            var parts: [(String, Double)] = []
            let report: IterationReport
            do {
                // One batch per epoch is the same function from epoch to epoch (the full batch).
                report = try optimizer.iterate(sameFunction: batches.count == 1) {
                    self.evaluateBatch(chunks, parts: &parts)
                }
            } catch let failure as LineSearchFailure {
                throw BottleneckError("training stopped at epoch \(epoch), batch \(k + 1): the line search failed: \(failure.description); the last checkpoint is kept")
            }
            tally.evaluations! += report.evaluations
            tally.add(loss: report.value, parts: parts, count: indices.count)
            if let stop = report.stop { convergence = stop; break }
            onBatch?(tally.progress(batch: k + 1))
        }
        return tally.record(learningRate: optimizer.learningRate) { validation.map { evaluateLoss($0) } }
    }

    /// A batch cut into chunks of at most `evaluationChunk` rows, each with its share of the batch;
    /// cut once per batch, since the line search evaluates the same batch several times.
    private func evaluationChunks(_ x: Tensor) -> [(rows: Tensor, share: Float)] {
        let n = x.shape[0]
        guard n > evaluationChunk else { return [(x, 1)] }
        return stride(from: 0, to: n, by: evaluationChunk).map { begin in
            let count = min(evaluationChunk, n - begin)
            return (x.rows(begin, count), Float(count) / Float(n))
        }
    }

    /// The objective's loss on a batch with the parameters' gradients, summed over its chunks
    /// (each weighted by its share), then the gradient hook; `parts` gets the loss's named parts.
    /// A non-finite value is returned at once: the line search takes it as a step too far.
    private func evaluateBatch(_ chunks: [(rows: Tensor, share: Float)], parts: inout [(String, Double)]) -> Double {
        var total = 0.0
        var sums: [String: Double] = [:], order: [String] = []
        for (rows, share) in chunks {
            let terms = objective.loss(model: model, input: rows, rng: rng)
            let value = Double(terms.total.item)
            guard value.isFinite else { return value }
            (terms.total * share).backward()
            total += value * Double(share)
            for (name, v) in terms.parts {
                if sums[name] == nil { order.append(name) }
                sums[name, default: 0] += Double(v) * Double(share)
            }
        }
        gradientHook?(optimizer.parameters)
        parts = order.map { ($0, sums[$0]!) }
        return total
    }

    /// One optimizer update from `loss`: schedule, zeroed gradients, backward, hook, clipping, step.
    private func takeStep(_ optimizer: StepOptimizer, baseLearningRate: Float, loss: Tensor, at position: (step: Int, epoch: Int)) {
        if let schedule = config.schedule {
            optimizer.learningRate = schedule.rate(base: baseLearningRate, step: position.step, epoch: position.epoch, totalEpochs: config.epochs)
        }
        optimizer.zeroGrad()
        loss.backward()
        gradientHook?(optimizer.parameters)
        if let c = config.clipNorm { clipGradientNorm(optimizer.parameters, maxNorm: c) }
        optimizer.step()
    }

    /// The objective's loss on a dataset in eval mode, without gradients. Noise-drawing
    /// objectives use a fixed generator so the number is comparable across epochs.
    public func evaluateLoss(_ data: Dataset, batchSize: Int = 1000) -> Double {
        defer { model.train() }
        return objectiveLoss(objective, model: model, on: data, batchSize: batchSize)
    }

    /// Restores the state saved by `checkpointTensors`/`checkpointState` (weights, optimizer,
    /// generator, history), so training continues exactly where it stopped.
    public func restore(tensors: [String: Tensor], state: TrainerState, source: String) throws {
        let modelTensors = tensors.filter { !isAuxiliaryTensor($0.key) }
        try model.load(stateDict: modelTensors, from: source)
        try optimizer.loadState(Self.section(tensors, prefix: "optimizer."))
        for (name, t) in objective.extraState {
            guard let src = tensors["objective." + name], src.shape == t.shape else {
                throw BottleneckError.file(source, "checkpoint lacks objective state '\(name)'")
            }
            t.assign(src)
        }
        for (name, extra) in objective.extraOptimizers {
            do {
                try extra.loadState(Self.section(tensors, prefix: "objective.\(name)."))
            } catch let e as BottleneckError {
                throw BottleneckError.file(source, "\(name): \(e.message)")
            }
        }
        rng.restore(state.rngState.compactMap { UInt64($0) })
        history = state.history
        bestLoss = state.bestLoss ?? .infinity
        epochsSinceBest = state.epochsSinceBest
        optimizer.learningRate = state.learningRate
    }

    /// The tensors whose names start with `prefix`, named without it.
    private static func section(_ tensors: [String: Tensor], prefix: String) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: tensors.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) })
    }

    /// Everything a checkpoint holds: the model's state_dict, the optimizer's state, and the
    /// objective's own tensors and optimizers.
    public var checkpointTensors: [(String, Tensor)] {
        model.stateDict() + optimizer.stateTensors().map { ("optimizer." + $0.0, $0.1) }
            + objective.extraState.map { ("objective." + $0.0, $0.1) }
            + objective.extraOptimizers.flatMap { name, extra in extra.stateTensors().map { ("objective.\(name)." + $0.0, $0.1) } }
    }

    public var checkpointState: TrainerState {
        TrainerState(rngState: rng.snapshot.map(String.init), history: history,
                     bestLoss: bestLoss.isFinite ? bestLoss : nil, epochsSinceBest: epochsSinceBest, learningRate: optimizer.learningRate)
    }
}

/// An epoch's running sums (loss and its parts weighted by batch size), for the progress
/// reports and the epoch's record.
private struct EpochTally {
    let epoch: Int, epochs: Int, batches: Int
    let start = Date()
    var lossSum = 0.0, seen = 0
    var partSums: [String: Double] = [:]
    var evaluations: Int?

    mutating func add(loss: Double, parts: [(String, Double)], count: Int) {
        lossSum += loss * Double(count)
        seen += count
        for (name, v) in parts { partSums[name, default: 0] += v * Double(count) }
    }

    func progress(batch: Int) -> BatchProgress {
        let t = Date().timeIntervalSince(start)
        return BatchProgress(epoch: epoch, epochs: epochs, batch: batch, batches: batches,
                             loss: lossSum / Double(max(seen, 1)), samplesPerSecond: Double(seen) / max(t, 1e-9), elapsed: t)
    }

    /// The record; the epoch's time is taken before `validationLoss` runs.
    func record(learningRate: Float, validationLoss: () -> Double?) -> EpochRecord {
        let seconds = Date().timeIntervalSince(start)
        return EpochRecord(epoch: epoch, trainLoss: lossSum / Double(max(seen, 1)), validationLoss: validationLoss(),
                           seconds: seconds, samplesPerSecond: Double(seen) / max(seconds, 1e-9), learningRate: learningRate,
                           parts: partSums.mapValues { $0 / Double(max(seen, 1)) }, evaluations: evaluations)
    }
}

/// The trainer's non-tensor state in a checkpoint. Generator words are strings: JSON numbers
/// cannot hold 64-bit integers exactly.
public struct TrainerState: Codable, Equatable {
    public var rngState: [String]
    public var history: [EpochRecord]
    public var bestLoss: Double?
    public var epochsSinceBest: Int
    public var learningRate: Float
}
