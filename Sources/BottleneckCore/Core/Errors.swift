/// The one error type users see: a one-line message naming what is wrong and where.
///
/// An error about a configuration value carries the value's `field`, so a front end can name it
/// its own way: the library's message reads "batchSize must be at least 1, got 0", the command
/// line prints "--batch-size must be at least 1, got 0" (see `message(naming:)`).
public struct BottleneckError: Error, CustomStringConvertible, Equatable {
    /// The whole one-line message, the field (if any) named by `ConfigField.name`.
    public let message: String
    /// The configuration field at fault, or nil when the error is not about one.
    public let field: ConfigField?
    /// The message after the field's name ("must be at least 1, got 0"); the whole message when
    /// there is no field.
    public let problem: String

    public init(_ message: String) {
        self.message = message
        field = nil
        problem = message
    }

    private init(field: ConfigField, problem: String) {
        self.field = field
        self.problem = problem
        message = "\(field.name) \(problem)"
    }

    public var description: String { message }

    /// A configuration value that is out of range, unknown or malformed: `problem` follows the
    /// field's name, e.g. `.invalid(.learningRate, "must be a positive number, got -1")`.
    public static func invalid(_ field: ConfigField, _ problem: String) -> BottleneckError {
        BottleneckError(field: field, problem: problem)
    }

    /// The message with the field named by `name` (a command line passes its flag names);
    /// errors without a field give `message` unchanged.
    public func message(naming name: (ConfigField) -> String) -> String {
        guard let field else { return message }
        return "\(name(field)) \(problem)"
    }

    /// A layer given an input it cannot take.
    public static func shape(layer: String, expected: String, got: [Int]) -> BottleneckError {
        BottleneckError("\(layer): expects input \(expected), got \(formatShape(got))")
    }

    /// A file that cannot be read as what it claims to be.
    public static func file(_ path: String, _ problem: String) -> BottleneckError {
        BottleneckError("\(path): \(problem)")
    }
}

/// The identity of a configuration value the library checks, independent of how a front end
/// spells it (the command line maps each to its flag). `name` is the library's spelling.
public enum ConfigField: Hashable, Sendable {
    // Training (`TrainingConfig`).
    case epochs, batchSize, learningRate, optimizer, momentum, nesterov, weightDecay, schedule, clipNorm, seed
    case historySize, gradientTolerance, stepTolerance
    case validationFraction, patience, loss
    // Model and variant.
    case preset, architecture, codeSize, variant, noise, prior
    /// A knob of a variant, by its key in the variant's options (e.g. "beta").
    case variantOption(String)
    // Data.
    case data, labels, labelColumn, imageSize, window, stride, scaling, classes, normalClasses
    // Linear probes (`ProbeConfig`).
    case maxIterations, l2
    // Applications.
    case bits, rect, metric, downscale, components
    /// Anomaly detection: the score and the threshold rule's settings.
    case score, elboSamples, contamination, percentile, sigma, threshold
    /// Continuing a run from its checkpoint.
    case resume
    /// The memory a model may need (`ModelMemory`).
    case maxModelMemory
    /// Serving: the models folder, the address, authentication, limits and batching.
    case models, host, port, tokenFile, maxBodySize, maxRows, maxJSONDepth, requestTimeout, queueDepth
    case maxBatchRows, batchDelay, reloadInterval

    /// The library's name of the field: the property name, or "variant option 'beta'".
    public var name: String {
        if case .variantOption(let key) = self { return "variant option '\(key)'" }
        return "\(self)"
    }
}

public func formatShape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }
