import Foundation

/// A kernel choice an environment variable may force (`BOTTLENECK_GEMM`, `BOTTLENECK_CONV`):
/// unset, empty or `auto` leaves it to measurement. An unknown value is refused by the CLI before
/// any work (`problem`) and treated as unset by the library.
package struct KernelOverride<Choice: RawRepresentable & CaseIterable> where Choice.RawValue == String {
    package let variable: String

    /// The forced choice, or nil.
    package var forced: Choice? {
        guard let value, value != "auto" else { return nil }
        return Choice(rawValue: value)
    }

    /// One line naming the variable and what is wrong with its value, or nil.
    package var problem: String? {
        guard let value, value != "auto", Choice(rawValue: value) == nil else { return nil }
        return "\(variable): unknown value '\(value)' (known: auto, \(Choice.allCases.map(\.rawValue).joined(separator: ", ")))"
    }

    private var value: String? {
        getenv(variable).map { String(cString: $0).lowercased() }.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// The best of `rounds` timings of `body`, in seconds, each timing `repeats` calls (per call).
package func bestSeconds(rounds: Int, repeats: Int = 1, _ body: () -> Void) -> Double {
    var best = Double.infinity
    for _ in 0..<rounds {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<repeats { body() }
        best = Swift.min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(repeats))
    }
    return best
}
