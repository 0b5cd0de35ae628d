/// The one error type users see: a one-line message naming what is wrong and where.
public struct BottleneckError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// A layer given an input it cannot take.
    public static func shape(layer: String, expected: String, got: [Int]) -> BottleneckError {
        BottleneckError("\(layer): expects input \(expected), got \(formatShape(got))")
    }

    /// A file that cannot be read as what it claims to be.
    public static func file(_ path: String, _ problem: String) -> BottleneckError {
        BottleneckError("\(path): \(problem)")
    }
}

public func formatShape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }
