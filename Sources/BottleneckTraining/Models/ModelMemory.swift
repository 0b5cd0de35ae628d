import BottleneckCore

/// What a model needs in memory, counted from its architecture while it is built: parameters and
/// buffers before each layer is allocated, and the activations of one sample through every
/// layer. Past `limit` the build stops with one line, so a hostile or mistyped architecture
/// (`"out": 2000000000`) is refused instead of aborting in the allocator. Training needs more:
/// gradients and optimizer moments (about 4x the parameters) and a batch of activations.
public struct ModelMemory: Sendable {
    /// 8 GiB: a third of this project's machines' memory.
    public static let defaultLimit = ByteCount.gibibytes(8)

    public let limit: ByteCount
    /// Bytes of parameters and buffers counted so far.
    public private(set) var valueBytes = 0
    /// Bytes of one sample's input and layer outputs counted so far.
    public private(set) var activationBytes = 0
    private var largest: (layer: String, bytes: Int)?

    public init(limit: ByteCount = defaultLimit) { self.limit = limit }

    /// The name `add(activations:of:)` is given for the model's input.
    static let inputName = "the input"

    /// Parameters and activations together.
    public var total: ByteCount { ByteCount(valueBytes + activationBytes) }

    /// Whether parameters and activations together are within the limit (without overflowing).
    private var fits: Bool {
        let (sum, overflow) = valueBytes.addingReportingOverflow(activationBytes)
        return !overflow && sum <= limit.bytes
    }

    /// Adds `bytes` to `total`, saturating at Int.max; true when it saturated.
    private static func accumulate(_ bytes: Int, into total: inout Int) -> Bool {
        let (sum, overflow) = total.addingReportingOverflow(bytes)
        total = overflow ? Int.max : sum
        return overflow
    }

    /// Counts a layer's `values` (Float32 each); throws naming the layer past the limit.
    mutating func add(values n: Int, of layer: String) throws {
        let bytes = checkedProduct(max(n, 0), 4) ?? Int.max
        if bytes > (largest?.bytes ?? -1) { largest = (layer, bytes) }
        let overflow = Self.accumulate(bytes, into: &valueBytes)
        guard !overflow, fits else {
            let most = largest.map { ", \(ByteCount($0.bytes)) of them in \($0.layer)" } ?? ""
            throw BottleneckError.invalid(.maxModelMemory, "(\(limit)) is exceeded: the model needs \(overflow ? "more than can be counted" : "\(ByteCount(valueBytes))") for its parameters\(most)")
        }
    }

    /// Counts one sample's activation of per-sample `shape`; throws past the limit, or when a
    /// dimension is past what a kernel can index (2^31 - 1).
    mutating func add(activations shape: [Int], of layer: String) throws {
        guard shape.count <= InputLimits.maxRank, shape.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }) else {
            throw BottleneckError("output shape \(formatShape(shape)) has more than \(InputLimits.maxRank) dimensions or one past \(Int32.max)")
        }
        let bytes = checkedElementCount(shape).flatMap { checkedProduct($0, 4) } ?? Int.max
        let overflow = Self.accumulate(bytes, into: &activationBytes)
        guard !overflow, fits else {
            let at = layer == Self.inputName ? "the input is \(formatShape(shape))" : "\(layer) outputs \(formatShape(shape))"
            let parameters = valueBytes > 0 ? ", beside \(ByteCount(valueBytes)) of parameters" : ""
            throw BottleneckError.invalid(.maxModelMemory, "(\(limit)) is exceeded: one sample's activations need \(overflow ? "more than can be counted" : "\(ByteCount(activationBytes))") (\(at))\(parameters)")
        }
    }
}
