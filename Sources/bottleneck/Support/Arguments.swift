import ArgumentParser
import Bottleneck

// The library's choices as command-line values: ArgumentParser refuses anything else with the
// list of valid values, naming the flag.
extension LossKind: ExpressibleByArgument {}
extension OptimizerChoice.Name: ExpressibleByArgument {}
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
