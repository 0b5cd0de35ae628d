import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining
/// Adaptive arithmetic coding (Witten, Neal & Cleary, 1987, with 32-bit integer arithmetic).
/// Each symbol costs about -log2 of its current model probability; the models learn the symbol
/// frequencies as they go, identically in the encoder and the decoder, so no table is stored.

/// Symbol frequencies of an alphabet 0..<size, updated after each symbol.
public struct AdaptiveFrequencyModel {
    public let size: Int
    private(set) var frequencies: [UInt32]
    private(set) var total: UInt32
    /// Frequencies are halved when the total passes this. The coder needs total <= 2^30 (the
    /// smallest range); range * total must fit in 64 bits. A large limit keeps precise statistics.
    static let maxTotal: UInt32 = 1 << 22
    static let increment: UInt32 = 32

    public init(size: Int) {
        precondition(size >= 1 && size <= 1 << 12, "an adaptive model has 1...4096 symbols, not \(size)")
        self.size = size
        frequencies = [UInt32](repeating: 1, count: size)
        total = UInt32(size)
    }

    /// [low, high) of `symbol`'s slice of 0..<total.
    @inline(__always) func interval(_ symbol: Int) -> (UInt32, UInt32) {
        var low: UInt32 = 0
        for s in 0..<symbol { low &+= frequencies[s] }
        return (low, low + frequencies[symbol])
    }

    /// The symbol whose slice holds `target` (< total), and that slice.
    @inline(__always) func symbol(containing target: UInt32) -> (Int, UInt32, UInt32) {
        var low: UInt32 = 0
        for s in 0..<size - 1 {
            let high = low + frequencies[s]
            if target < high { return (s, low, high) }
            low = high
        }
        return (size - 1, low, total)
    }

    @inline(__always) mutating func update(_ symbol: Int) {
        frequencies[symbol] += Self.increment
        total += Self.increment
        if total > Self.maxTotal {
            total = 0
            for s in 0..<size { frequencies[s] = (frequencies[s] + 1) / 2; total += frequencies[s] }
        }
    }
}

private let codeBits: UInt64 = 32
private let topValue: UInt64 = (1 << codeBits) - 1
private let half: UInt64 = 1 << (codeBits - 1)
private let quarter: UInt64 = 1 << (codeBits - 2)

public struct ArithmeticEncoder {
    private var low: UInt64 = 0, high: UInt64 = topValue
    private var pendingBits = 0
    private var bytes: [UInt8] = []
    private var current: UInt8 = 0, filled = 0

    public init() {}

    /// Codes `symbol` with `model`'s current probabilities, then updates the model.
    public mutating func encode(_ symbol: Int, model: inout AdaptiveFrequencyModel) {
        precondition(symbol >= 0 && symbol < model.size, "symbol \(symbol) outside the model's alphabet of \(model.size)")
        let (cl, ch) = model.interval(symbol)
        let range = high - low + 1, total = UInt64(model.total)
        high = low + range * UInt64(ch) / total - 1
        low = low + range * UInt64(cl) / total
        while true {
            if high < half {
                emit(0)
            } else if low >= half {
                emit(1)
                low -= half; high -= half
            } else if low >= quarter && high < 3 * quarter {
                pendingBits += 1
                low -= quarter; high -= quarter
            } else {
                break
            }
            low <<= 1
            high = high << 1 | 1
        }
        model.update(symbol)
    }

    /// Ends the stream: two more bits pin a value inside the final interval; the rest of the last
    /// byte is zero.
    public mutating func finish() -> [UInt8] {
        pendingBits += 1
        emit(low < quarter ? 0 : 1)
        if filled > 0 { bytes.append(current << (8 - filled)); filled = 0; current = 0 }
        return bytes
    }

    @inline(__always) private mutating func emit(_ bit: UInt8) {
        put(bit)
        while pendingBits > 0 { put(bit ^ 1); pendingBits -= 1 }
    }

    @inline(__always) private mutating func put(_ bit: UInt8) {
        current = current << 1 | bit
        filled += 1
        if filled == 8 { bytes.append(current); current = 0; filled = 0 }
    }
}

public struct ArithmeticDecoder {
    private let bytes: [UInt8]
    private var position = 0   // in bits
    private var low: UInt64 = 0, high: UInt64 = topValue, value: UInt64 = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        for _ in 0..<codeBits { value = value << 1 | nextBit() }
    }

    /// Bits past the end read as 0, as the encoder's final padding.
    @inline(__always) private mutating func nextBit() -> UInt64 {
        let byte = position >> 3
        let bit: UInt64 = byte < bytes.count ? UInt64(bytes[byte] >> (7 - UInt8(position & 7)) & 1) : 0
        position += 1
        return bit
    }

    /// The next symbol under `model` (then updates the model). Throws on a stream no encoder
    /// could have written.
    public mutating func decode(model: inout AdaptiveFrequencyModel) throws -> Int {
        guard value >= low, value <= high else { throw BottleneckError("arithmetic decoder: corrupt stream") }
        let range = high - low + 1, total = UInt64(model.total)
        let target = ((value - low + 1) * total - 1) / range
        guard target < total else { throw BottleneckError("arithmetic decoder: corrupt stream") }
        let (symbol, cl, ch) = model.symbol(containing: UInt32(target))
        high = low + range * UInt64(ch) / total - 1
        low = low + range * UInt64(cl) / total
        guard value >= low, value <= high else { throw BottleneckError("arithmetic decoder: corrupt stream") }
        while true {
            if high < half {
                // nothing to subtract
            } else if low >= half {
                low -= half; high -= half; value -= half
            } else if low >= quarter && high < 3 * quarter {
                low -= quarter; high -= quarter; value -= quarter
            } else {
                break
            }
            low <<= 1
            high = high << 1 | 1
            value = value << 1 | nextBit()
        }
        model.update(symbol)
        return symbol
    }
}
