import CZlib
import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// Uniform scalar quantisation of codes: each code dimension j gets 2^bits levels spread evenly
/// over its range [low_j, high_j] (fitted to the codes being compressed, and stored with them).
public struct UniformQuantizer: Equatable {
    public let bits: Int
    public let low: [Float]
    public let high: [Float]

    public static let bitRange = 1...8

    public var levels: Int { 1 << bits }
    public var dimension: Int { low.count }

    public init(bits: Int, low: [Float], high: [Float]) throws {
        guard Self.bitRange.contains(bits) else { throw BottleneckError.invalid(.bits, "must be in \(Self.bitRange.lowerBound)...\(Self.bitRange.upperBound), got \(bits)") }
        guard low.count == high.count, zip(low, high).allSatisfy({ $0.isFinite && $1.isFinite && $0 <= $1 }) else {
            throw BottleneckError("quantiser: ranges must be finite with low <= high")
        }
        self.bits = bits
        self.low = low
        self.high = high
    }

    /// The per-dimension range of `codes` [N, d].
    public static func fitted(to codes: Tensor, bits: Int) throws -> UniformQuantizer {
        guard codes.rank == 2, codes.shape[0] > 0 else { throw BottleneckError("quantiser: needs codes [N > 0, d], got \(formatShape(codes.shape))") }
        try validateFinite(codes, source: "codes")
        let n = codes.shape[0], d = codes.shape[1]
        var low = [Float](repeating: .infinity, count: d), high = [Float](repeating: -.infinity, count: d)
        for r in 0..<n { for j in 0..<d { let v = codes.data[r * d + j]; low[j] = min(low[j], v); high[j] = max(high[j], v) } }
        return try UniformQuantizer(bits: bits, low: low, high: high)
    }

    @inline(__always) func step(_ j: Int) -> Float { (high[j] - low[j]) / Float(levels - 1) }

    /// Level indices, row-major like `codes` [N, d]; values outside the range are clamped.
    public func quantize(_ codes: Tensor) -> [UInt16] {
        precondition(codes.rank == 2 && codes.shape[1] == dimension, "quantize: codes \(codes.shape) for a quantiser of \(dimension)")
        let n = codes.shape[0], d = dimension, top = Float(levels - 1)
        var out = [UInt16](repeating: 0, count: n * d)
        for j in 0..<d {
            let s = step(j)
            guard s > 0 else { continue }  // a constant dimension: level 0 is its value
            for r in 0..<n {
                let q = ((codes.data[r * d + j] - low[j]) / s).rounded()
                out[r * d + j] = UInt16(min(max(q, 0), top))
            }
        }
        return out
    }

    /// Values [count, d] of level indices.
    public func dequantize(_ symbols: [UInt16], count n: Int) -> Tensor {
        precondition(symbols.count == n * dimension, "dequantize: \(symbols.count) symbols for \(n) x \(dimension)")
        let d = dimension
        let out = Tensor(shape: [n, d], zeroed: false)
        for j in 0..<d {
            let s = step(j), base = low[j]
            for r in 0..<n { out.data[r * d + j] = base + Float(symbols[r * d + j]) * s }
        }
        return out
    }
}

/// A compressed file of codes: a header naming the model (its hash), the code shape, the sample
/// count and the quantiser, then the arithmetic-coded levels, then a CRC-32 of all that precedes.
///
///     "BNZC"  u16 version  u8 bits  u8 code rank  [32] model hash (SHA-256)  u32 samples
///     u32 x rank code shape   f32 x d low   f32 x d high   u32 payload bytes   payload   u32 CRC-32
///
/// All integers and floats little-endian. The levels are coded sample by sample, one adaptive
/// frequency model per code dimension.
public struct CompressedCodes: Equatable {
    public static let magic: [UInt8] = Array("BNZC".utf8)
    public static let version: UInt16 = 1

    public var modelHash: String
    public var codeShape: [Int]
    public var sampleCount: Int
    public var quantizer: UniformQuantizer
    public var payload: [UInt8]

    public var codeSize: Int { codeShape.reduce(1, *) }

    /// Quantises and entropy-codes `codes` [N, code shape...].
    public static func compress(_ codes: Tensor, bits: Int, modelHash: String) throws -> CompressedCodes {
        guard codes.rank >= 2 else { throw BottleneckError("compress: codes need a sample axis, got \(formatShape(codes.shape))") }
        let n = codes.shape[0], shape = Array(codes.shape.dropFirst())
        let flat = codes.reshaped([n, -1])
        let q = try UniformQuantizer.fitted(to: flat, bits: bits)
        let symbols = q.quantize(flat)
        return CompressedCodes(modelHash: modelHash, codeShape: shape, sampleCount: n, quantizer: q,
                               payload: encodeSymbols(symbols, dimension: q.dimension, alphabet: q.levels))
    }

    /// The level indices, decoded from the payload.
    public func symbols() throws -> [UInt16] {
        try Self.decodeSymbols(payload, count: sampleCount * codeSize, dimension: codeSize, alphabet: quantizer.levels)
    }

    /// The dequantised codes [N, code shape...].
    public func codes() throws -> Tensor {
        quantizer.dequantize(try symbols(), count: sampleCount).reshaped([sampleCount] + codeShape)
    }

    static func encodeSymbols(_ symbols: [UInt16], dimension d: Int, alphabet: Int) -> [UInt8] {
        var models = [AdaptiveFrequencyModel](repeating: AdaptiveFrequencyModel(size: alphabet), count: d)
        var encoder = ArithmeticEncoder()
        for (i, s) in symbols.enumerated() { encoder.encode(Int(s), model: &models[i % d]) }
        return encoder.finish()
    }

    static func decodeSymbols(_ payload: [UInt8], count: Int, dimension d: Int, alphabet: Int) throws -> [UInt16] {
        var models = [AdaptiveFrequencyModel](repeating: AdaptiveFrequencyModel(size: alphabet), count: d)
        var decoder = ArithmeticDecoder(payload)
        var out = [UInt16](repeating: 0, count: count)
        for i in 0..<count { out[i] = UInt16(try decoder.decode(model: &models[i % d])) }
        return out
    }

    // MARK: Bytes

    public func encoded() throws -> Data {
        guard modelHash.count == 64, let hashBytes = hexBytes(modelHash) else { throw BottleneckError("compress: model hash must be 64 hex digits") }
        var out = ByteWriter()
        out.bytes += Self.magic
        out.u16(Self.version)
        out.bytes.append(UInt8(quantizer.bits))
        out.bytes.append(UInt8(codeShape.count))
        out.bytes += hashBytes
        out.u32(UInt32(sampleCount))
        for s in codeShape { out.u32(UInt32(s)) }
        for v in quantizer.low { out.f32(v) }
        for v in quantizer.high { out.f32(v) }
        out.u32(UInt32(payload.count))
        out.bytes += payload
        out.u32(crc32Of(out.bytes))
        return Data(out.bytes)
    }

    /// Reads a compressed file's bytes; `source` names it in errors. A wrong magic, a newer
    /// version, truncation, stray bytes or a checksum mismatch each give a one-line error.
    /// The most code values a file may decode to (1 GiB as Float32).
    public static let maxCodeValues = 1 << 28

    public static func decode(_ data: Data, source: String) throws -> CompressedCodes {
        let bytes = [UInt8](data)
        func fail(_ why: String) -> BottleneckError { .file(source, why) }
        guard bytes.count >= 6, Array(bytes[0..<4]) == magic else {
            throw fail("not a Bottleneck compressed file (\(bytes.count) bytes, no BNZC signature)")
        }
        var r = ByteReader(bytes: bytes, position: 4)
        let truncated = fail("truncated: the file ends inside its header (\(bytes.count) bytes)")
        guard let version = r.u16() else { throw truncated }
        guard version == Self.version else { throw fail("compressed-file format version \(version), this program reads version \(Self.version)") }
        guard let bits = r.u8(), let rank = r.u8(), let hash = r.take(32), let n = r.u32() else { throw truncated }
        guard rank >= 1, rank <= 8 else { throw fail("corrupt header: code rank \(rank)") }
        var shape: [Int] = []
        for _ in 0..<rank { guard let s = r.u32() else { throw truncated }; shape.append(Int(s)) }
        let d = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        // One adaptive model of up to 256 symbols per code value: 2^16 values keep them to 64 MiB.
        guard d >= 1, d <= 1 << 16 else { throw fail("corrupt header: code shape \(formatShape(shape))") }
        guard r.remaining >= 8 * d else { throw truncated }
        let low = (0..<d).map { _ in r.f32()! }, high = (0..<d).map { _ in r.f32()! }
        guard let payloadCount = r.u32() else { throw truncated }
        let present = r.remaining - 4
        guard present >= Int(payloadCount) else {
            throw fail("truncated: the header announces \(payloadCount) bytes of coded data, \(max(present, 0)) are present")
        }
        guard present == Int(payloadCount) else { throw fail("corrupt: \(present - Int(payloadCount)) unexpected bytes after the coded data") }
        let payload = r.take(Int(payloadCount))!
        let stored = r.u32()!
        guard stored == crc32Of(Array(bytes[0..<(bytes.count - 4)])) else { throw fail("corrupt: checksum mismatch (the file was altered or damaged)") }
        let quantizer: UniformQuantizer
        do { quantizer = try UniformQuantizer(bits: Int(bits), low: low, high: high) } catch { throw fail("corrupt header: \(error)") }
        // Entropy-coded data can decode to any length: the count is bounded, not trusted.
        guard let values = checkedProduct(Int(n), d), values <= Self.maxCodeValues else {
            throw fail("corrupt header: \(n) samples of \(d) code values, more than the \(Self.maxCodeValues) a file may decode to")
        }
        return CompressedCodes(modelHash: SHA256.hex(hash), codeShape: shape, sampleCount: Int(n), quantizer: quantizer, payload: payload)
    }

    public static func read(_ path: String) throws -> CompressedCodes {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BottleneckError.file(path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        return try decode(data, source: path)
    }
}

func crc32Of(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
}

private func hexBytes(_ hex: String) -> [UInt8]? {
    let chars = Array(hex.utf8)
    guard chars.count % 2 == 0 else { return nil }
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }
    var out: [UInt8] = []
    for i in stride(from: 0, to: chars.count, by: 2) {
        guard let a = nibble(chars[i]), let b = nibble(chars[i + 1]) else { return nil }
        out.append(a << 4 | b)
    }
    return out
}

struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v & 255), UInt8(v >> 8)] }
    mutating func u32(_ v: UInt32) { for s in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
}

struct ByteReader {
    let bytes: [UInt8]
    var position: Int
    var remaining: Int { bytes.count - position }
    mutating func take(_ n: Int) -> [UInt8]? {
        guard n >= 0, remaining >= n else { return nil }
        defer { position += n }
        return Array(bytes[position..<(position + n)])
    }
    mutating func u8() -> UInt8? { take(1)?[0] }
    mutating func u16() -> UInt16? { take(2).map { UInt16($0[0]) | UInt16($0[1]) << 8 } }
    mutating func u32() -> UInt32? { take(4).map { $0.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) } } }
    mutating func f32() -> Float? { u32().map(Float.init(bitPattern:)) }
}

/// Lossy compression of samples through an autoencoder: encode, quantise, entropy-code; and back.
public struct AutoencoderCodec {
    public let model: Autoencoder
    public let scaler: Scaler
    public let modelHash: String

    public init(model: Autoencoder, scaler: Scaler) throws {
        self.model = model
        self.scaler = scaler
        modelHash = try BottleneckApps.modelHash(model, scaler: scaler)
        model.eval()
    }

    /// Compresses samples [N, input shape...] given in the data's own units (scaled here).
    public func compress(_ samples: Tensor, bits: Int, source: String = "data") throws -> CompressedCodes {
        try model.checkInput(Array(samples.shape.dropFirst()), source: source)
        guard samples.shape[0] > 0 else { throw BottleneckError("\(source): no samples to compress") }
        let scaled = Dataset(inputs: try scaler.transform(samples), source: source)
        let codes = mapBatches(scaled) { model.encode($0) }
        return try CompressedCodes.compress(codes, bits: bits, modelHash: modelHash)
    }

    /// Rebuilds samples (in the data's units) from a compressed file made with this same model.
    public func decompress(_ file: CompressedCodes, source: String) throws -> Tensor {
        guard file.modelHash == modelHash else {
            throw BottleneckError.file(source, "was compressed with another model (hash \(file.modelHash.prefix(12)), this model is \(modelHash.prefix(12)))")
        }
        guard file.codeShape == model.codeShape else {
            throw BottleneckError.file(source, "holds codes of shape \(formatShape(file.codeShape)), the model's code is \(formatShape(model.codeShape))")
        }
        return try decode(try file.codes())
    }

    /// The decoder's output for codes [N, code shape...], in the data's units.
    public func decode(_ codes: Tensor) throws -> Tensor {
        let out = mapBatches(Dataset(inputs: codes, source: "codes")) { model.decode($0) }
        return try scaler.inverseTransform(out)
    }
}
