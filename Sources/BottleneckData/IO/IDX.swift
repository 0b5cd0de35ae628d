import Foundation
import BottleneckCore

/// The IDX format of MNIST and Fashion-MNIST: magic (two zero bytes, a type code, the rank),
/// big-endian dimensions, then the data. Plain or gzipped, rank 1...`InputLimits.maxRank`.
public struct IDXArray {
    public let shape: [Int]
    /// Values as Float (unsigned bytes stay 0...255).
    public let values: [Float]

    /// Reads a plain or gzipped file as a stream: the header is checked (sizes overflow-checked,
    /// at most `InputLimits.maxValues` values, none zero) before anything is allocated, exactly
    /// the declared bytes are read, and bytes past them are an error, so a gzip bomb behind a
    /// small header costs the header's size, not the bomb's.
    public static func read(_ path: String) throws -> IDXArray {
        try read(from: openMaybeGzipped(path), source: path)
    }

    /// Decodes a file's bytes (plain or gzipped).
    public static func decode(_ data: Data, source: String) throws -> IDXArray {
        let stream: ByteStream = Gzip.isGzipped(data) ? GzipStream(DataStream(data), source: source) : DataStream(data)
        return try read(from: stream, source: source)
    }

    public static func read(from stream: ByteStream, source: String) throws -> IDXArray {
        guard let magic = try stream.readBytes(4) else { throw BottleneckError.file(source, "too short for an IDX header") }
        guard magic[0] == 0, magic[1] == 0 else {
            throw BottleneckError.file(source, String(format: "not an IDX file (magic number 0x%02X%02X%02X%02X)", magic[0], magic[1], magic[2], magic[3]))
        }
        let typeCode = magic[2], rank = Int(magic[3])
        let size: Int
        switch typeCode {
        case 0x08, 0x09: size = 1
        case 0x0B: size = 2
        case 0x0C, 0x0D: size = 4
        case 0x0E: size = 8
        default: throw BottleneckError.file(source, String(format: "unknown IDX data type 0x%02X", typeCode))
        }
        guard (1...InputLimits.maxRank).contains(rank) else {
            throw BottleneckError.file(source, "IDX header declares rank \(rank); ranks 1...\(InputLimits.maxRank) are read")
        }
        guard let dims = try stream.readBytes(4 * rank) else { throw BottleneckError.file(source, "IDX header truncated") }
        let shape = (0..<rank).map { d in dims[4 * d..<4 * d + 4].reduce(0) { $0 << 8 | Int($1) } }
        if let d = shape.firstIndex(of: 0) {
            throw BottleneckError.file(source, "holds no values: dimension \(d + 1) of \(formatShape(shape)) is 0")
        }
        // Sizes come from the file: multiplied with overflow checks, and limited, before allocating.
        guard let n = checkedElementCount(shape), n <= InputLimits.maxValues else {
            throw BottleneckError.file(source, "IDX header declares \(formatShape(shape)), more than the \(InputLimits.maxValues) values a file may hold")
        }
        // Against the bytes present before allocating: a tiny file cannot declare gigabytes.
        guard n * size <= stream.maxBytesRemaining else {
            throw BottleneckError.file(source, "truncated: header says \(formatShape(shape)) (\(n * size) bytes of data), the file can hold at most \(stream.maxBytesRemaining)")
        }
        var values = [Float](repeating: 0, count: n)
        // Converted chunk by chunk: the raw bytes never exist whole beside the values.
        let perChunk = min(n, max(1, (1 << 20) / size))
        var chunk = [UInt8](repeating: 0, count: perChunk * size)
        var done = 0
        try values.withUnsafeMutableBufferPointer { v in
            try chunk.withUnsafeMutableBytes { raw in
                while done < n {
                    let count = min(perChunk, n - done)
                    let got = try stream.readFully(into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<(count * size)]))
                    guard got == count * size else {
                        throw BottleneckError.file(source, "truncated: header says \(formatShape(shape)) (\(n * size) bytes of data), file has \(done * size + got)")
                    }
                    convert(raw.bindMemory(to: UInt8.self).baseAddress!, typeCode: typeCode, count: count, into: v.baseAddress! + done)
                    done += count
                }
            }
        }
        guard try stream.isAtEnd() else {
            throw BottleneckError.file(source, "has bytes after the \(n * size) bytes of data its header \(formatShape(shape)) declares")
        }
        return IDXArray(shape: shape, values: values)
    }

    /// Big-endian IDX values of `typeCode` to Float.
    private static func convert(_ p: UnsafePointer<UInt8>, typeCode: UInt8, count n: Int, into out: UnsafeMutablePointer<Float>) {
        func be32(_ i: Int) -> UInt32 { UInt32(p[i]) << 24 | UInt32(p[i + 1]) << 16 | UInt32(p[i + 2]) << 8 | UInt32(p[i + 3]) }
        switch typeCode {
        case 0x08: for i in 0..<n { out[i] = Float(p[i]) }
        case 0x09: for i in 0..<n { out[i] = Float(Int8(bitPattern: p[i])) }
        case 0x0B: for i in 0..<n { out[i] = Float(Int16(bitPattern: UInt16(p[2 * i]) << 8 | UInt16(p[2 * i + 1]))) }
        case 0x0C: for i in 0..<n { out[i] = Float(Int32(bitPattern: be32(4 * i))) }
        case 0x0D: for i in 0..<n { out[i] = Float(bitPattern: be32(4 * i)) }
        default:
            for i in 0..<n { out[i] = Float(Double(bitPattern: UInt64(be32(8 * i)) << 32 | UInt64(be32(8 * i + 4)))) }
        }
    }

    /// Writes unsigned-byte IDX (values clamped to 0...255), gzipped if the path ends in .gz.
    public static func writeUInt8(_ values: [Float], shape: [Int], to path: String) throws {
        var d = Data([0, 0, 0x08, UInt8(shape.count)])
        for s in shape { d.append(contentsOf: [UInt8(s >> 24 & 255), UInt8(s >> 16 & 255), UInt8(s >> 8 & 255), UInt8(s & 255)]) }
        d.append(contentsOf: values.map { UInt8(max(0, min(255, $0.rounded()))) })
        try writeAtomically(path.hasSuffix(".gz") ? Gzip.compress(d) : d, to: path)
    }
}
