import Foundation

/// A number of bytes, as a flag or a message states it: "8GiB", "512 MiB", "1.5G", "4096".
/// Binary units (K, M, G, T = 1024^k), with or without "iB" or "B".
public struct ByteCount: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var bytes: Int
    public init(_ bytes: Int) { self.bytes = bytes }
    public static func gibibytes(_ g: Int) -> ByteCount { ByteCount(g << 30) }

    /// Parses "8GiB", "8 G", "512MiB", "100k", "4096"; nil for anything else or a size past Int's range.
    public init?(parsing text: String) {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let digits = t.prefix { $0.isNumber || $0 == "." }
        var unit = t.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        for suffix in ["ib", "b"] where unit.hasSuffix(suffix) { unit.removeLast(suffix.count); break }
        let shifts: [String: Int] = ["": 0, "k": 10, "m": 20, "g": 30, "t": 40]
        guard let value = Double(digits), value >= 0, let shift = shifts[unit] else { return nil }
        let total = value * Double(1 << shift)
        guard total.isFinite, total < 9e18 else { return nil }
        bytes = Int(total.rounded())
    }

    /// "23.4 GiB", "512 MiB", "300 bytes": three significant figures at most.
    public var description: String {
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        guard bytes >= 1024 else { return "\(bytes) bytes" }
        var value = Double(bytes), k = -1
        while value >= 1024 && k < units.count - 1 { value /= 1024; k += 1 }
        let text = value >= 100 ? String(format: "%.0f", value) : value >= 10 ? String(format: "%.1f", value) : String(format: "%.2f", value)
        let trimmed = text.contains(".") ? text.replacingOccurrences(of: #"\.?0+$"#, with: "", options: .regularExpression) : text
        return "\(trimmed) \(units[k])"
    }

    public static func < (a: ByteCount, b: ByteCount) -> Bool { a.bytes < b.bytes }
}

/// The sizes every reader refuses past, before it allocates: a file may be hostile, so nothing it
/// declares is trusted until it is checked against these and against the bytes actually present.
public enum InputLimits {
    /// Dimensions of any stored array (IDX, NPY, safetensors, compressed codes, model inputs).
    public static let maxRank = 8
    /// Values in one stored array or one dataset: 2^32 (16 GiB as Float32).
    public static let maxValues = 1 << 32
    /// Bytes one decompressed file may inflate to, whatever its header says: 16 GiB.
    public static let maxInflatedBytes = 16 << 30
    /// Bytes of a JSON header or metadata document (safetensors' own reader allows 100 MB).
    public static let maxHeaderBytes = 100_000_000
    /// Nesting of JSON objects and arrays in any document we read.
    public static let maxJSONDepth = 64
}

/// The number of values in an array of `shape`, or nil when a dimension is negative or the
/// product overflows: sizes read from a file are multiplied with this, never with `*`.
public func checkedElementCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        n = p
    }
    return n
}

/// `a * b`, or nil on overflow.
public func checkedProduct(_ a: Int, _ b: Int) -> Int? {
    let (p, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? nil : p
}
