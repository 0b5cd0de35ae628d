import ArgumentParser
import Bottleneck

// The library's choices as command-line values: ArgumentParser refuses anything else with the
// list of valid values, naming the flag.
extension LossKind: ExpressibleByArgument {}
extension OptimizerChoice.Name: ExpressibleByArgument {}
extension FashionMNIST.Split: ExpressibleByArgument {}
/// A fixed range has no flag of its own (it needs its bounds); the fitted kinds and none do.
extension Scaler.Kind: ExpressibleByArgument {
    public init?(argument: String) {
        guard let kind = Scaler.Kind(rawValue: argument), kind != .fixedRange else { return nil }
        self = kind
    }
    public static var allValueStrings: [String] { allCases.filter { $0 != .fixedRange }.map(\.rawValue) }
}
extension SparsePenalty.Name: ExpressibleByArgument {}
extension ContractiveMethod: ExpressibleByArgument {}
extension VAELikelihood: ExpressibleByArgument {}
extension ProbeConfig.Optimizer: ExpressibleByArgument {}
/// "8GiB", "512MiB", "1.5G": a size in bytes.
extension ByteCount: ExpressibleByArgument {
    public init?(argument: String) { self.init(parsing: argument) }
    public var defaultValueDescription: String { description.replacingOccurrences(of: " ", with: "") }
}

/// A duration on the command line: 250ms, 2s, 1.5s, 500us (a bare number is milliseconds).
struct DurationArgument: ExpressibleByArgument {
    let duration: Duration
    init(_ duration: Duration) { self.duration = duration }

    init?(argument: String) {
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("s", 1), ("m", 60)]
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let (number, scale) = units.first { text.hasSuffix($0.0) }.map { (String(text.dropLast($0.0.count)), $0.1) } ?? (text, 1e-3)
        guard let v = Double(number), v.isFinite, v >= 0, v * scale <= 86_400 else { return nil }
        duration = .nanoseconds(Int64((v * scale * 1e9).rounded()))
    }

    var defaultValueDescription: String {
        let c = duration.components
        let ms = Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15
        return ms >= 1000 && ms.truncatingRemainder(dividingBy: 1000) == 0 ? "\(Int(ms / 1000))s" : String(format: "%gms", ms)
    }
}

/// A per-sample shape such as 1x28x28 or 20.
func parseSampleShape(_ text: String, flag: String) throws -> [Int] {
    let shape = text.lowercased().split(separator: "x").compactMap { Int($0) }
    guard !shape.isEmpty, shape.allSatisfy({ $0 > 0 }), shape.count == text.split(separator: "x").count else {
        throw BottleneckError("\(flag) must look like 1x28x28, got '\(text)'")
    }
    return shape
}
