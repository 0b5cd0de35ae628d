import Foundation
import BottleneckCore

/// How the learning rate changes during training: the base rate times a factor that depends on the
/// epoch (decay) and on the optimizer step (warm-up). The trainer sets `optimizer.learningRate`
/// from `rate(base:step:epoch:totalEpochs:)` before every step.
///
/// Written on the command line (and stored in a model file's training config) as a short string:
///
///     schedule := decay | "warmup:" W | "warmup:" W "+" decay
///     decay    := "constant"
///               | "step:" K [":" GAMMA]        rate * GAMMA^(epoch / K), every K epochs (GAMMA 0.1)
///               | "cosine" [":" [T] [":" MIN]] cosine from rate down to MIN over T epochs, then MIN
///                                              (T omitted or empty: the run's epochs; MIN 0)
///     warm-up: the first W optimizer steps scale the rate by (step + 1) / W, linearly up to 1.
///
/// e.g. "cosine", "step:10:0.5", "warmup:500+cosine", "warmup:200+cosine:50:1e-5", "cosine::1e-5".
/// K, T, W are positive whole numbers; GAMMA > 0; MIN >= 0 is an absolute rate, as torch's eta_min.
/// Epochs and steps count from 0. Cosine follows torch's CosineAnnealingLR stepped once per epoch:
/// MIN + (rate - MIN) * (1 + cos(pi * epoch / T)) / 2.
public indirect enum LearningRateSchedule: Equatable, Sendable {
    case constant
    /// Multiply by `gamma` every `every` epochs (torch's StepLR).
    case step(every: Int, gamma: Float)
    /// Cosine annealing to `minimum` over `period` epochs (nil: the whole run), then `minimum`.
    case cosine(period: Int?, minimum: Float)
    /// Linear warm-up over the first `steps` optimizer steps, multiplying `then`.
    case warmup(steps: Int, then: LearningRateSchedule)

    /// The learning rate for optimizer step `step` (counted over the whole run) in epoch `epoch`,
    /// in a run of `totalEpochs` epochs.
    public func rate(base: Float, step: Int, epoch: Int, totalEpochs: Int) -> Float {
        switch self {
        case .constant:
            return base
        case let .step(every, gamma):
            return base * Float(Foundation.pow(Double(gamma), Double(Swift.max(epoch, 0) / Swift.max(every, 1))))
        case let .cosine(period, minimum):
            let t = Swift.max(period ?? totalEpochs, 1)
            let progress = Double(Swift.min(Swift.max(epoch, 0), t)) / Double(t)
            let factor = (1 + Foundation.cos(Double.pi * progress)) / 2
            return minimum + Float(Double(base - minimum) * factor)
        case let .warmup(steps, then):
            let after = then.rate(base: base, step: step, epoch: epoch, totalEpochs: totalEpochs)
            return step + 1 >= steps ? after : after * Float(Swift.max(step, 0) + 1) / Float(steps)
        }
    }

    /// Parses the grammar above; a bad string throws a `BottleneckError` of field `.schedule` naming it.
    public init(parsing text: String) throws {
        func bad(_ why: String) -> BottleneckError {
            BottleneckError.invalid(.schedule, "'\(text)': \(why) (expected e.g. constant, step:10:0.5, cosine, cosine:50:1e-5, warmup:500+cosine)")
        }
        func positiveInt(_ s: Substring, _ what: String) throws -> Int {
            guard let v = Int(s), v > 0 else { throw bad("\(what) must be a positive whole number, not '\(s)'") }
            return v
        }
        func float(_ s: Substring, _ what: String, _ ok: (Float) -> Bool) throws -> Float {
            guard let v = Float(s), v.isFinite, ok(v) else { throw bad("\(what) '\(s)' is out of range") }
            return v
        }
        func decay(_ part: Substring) throws -> LearningRateSchedule {
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            switch (fields[0], fields.count) {
            case ("constant", 1):
                return .constant
            case ("step", 2), ("step", 3):
                let every = try positiveInt(fields[1], "the step size in epochs")
                let gamma = fields.count == 3 ? try float(fields[2], "the factor gamma", { $0 > 0 }) : 0.1
                return .step(every: every, gamma: gamma)
            case ("cosine", 1...3):
                let period = fields.count >= 2 && !(fields.count == 3 && fields[1].isEmpty)
                    ? try positiveInt(fields[1], "the period in epochs") : nil
                let minimum = fields.count == 3 ? try float(fields[2], "the minimum rate", { $0 >= 0 }) : 0
                return .cosine(period: period, minimum: minimum)
            case ("constant", _), ("step", _), ("cosine", _), ("warmup", _):
                throw bad("wrong number of ':' fields in '\(part)'")
            default:
                throw bad("unknown schedule '\(fields[0])'")
            }
        }
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "+", omittingEmptySubsequences: false)
        let first = parts[0].split(separator: ":", omittingEmptySubsequences: false)
        if first[0] == "warmup" {
            guard first.count == 2 else { throw bad("warm-up is written warmup:STEPS") }
            let steps = try positiveInt(first[1], "the number of warm-up steps")
            switch parts.count {
            case 1: self = .warmup(steps: steps, then: .constant)
            case 2:
                if parts[1].hasPrefix("warmup") { throw bad("only one warm-up may be given") }
                self = .warmup(steps: steps, then: try decay(parts[1]))
            default: throw bad("at most one '+' (warm-up + decay)")
            }
        } else {
            guard parts.count == 1 else { throw bad("only a warm-up may come before '+'") }
            self = try decay(parts[0])
        }
    }
}

extension LearningRateSchedule: CustomStringConvertible {
    /// The canonical string, which `init(parsing:)` reads back to the same schedule.
    public var description: String {
        switch self {
        case .constant: return "constant"
        case let .step(every, gamma): return "step:\(every):\(gamma)"
        case .cosine(nil, 0): return "cosine"
        case let .cosine(nil, minimum): return "cosine::\(minimum)"
        case let .cosine(period?, 0): return "cosine:\(period)"
        case let .cosine(period?, minimum): return "cosine:\(period):\(minimum)"
        case let .warmup(steps, .constant): return "warmup:\(steps)"
        case let .warmup(steps, then): return "warmup:\(steps)+\(then)"
        }
    }
}

/// Stored as its string form (e.g. "warmup:500+cosine"), readable in a model file's JSON.
extension LearningRateSchedule: Codable {
    public init(from decoder: Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: Encoder) throws {
        if case let .warmup(_, inner) = self, case .warmup = inner {
            throw BottleneckError.invalid(.schedule, "'\(self)': a warm-up inside a warm-up cannot be stored")
        }
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
