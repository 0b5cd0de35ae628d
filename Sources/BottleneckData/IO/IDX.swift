import Foundation
import BottleneckCore

/// The IDX format of MNIST and Fashion-MNIST: magic (two zero bytes, a type code, the rank),
/// big-endian dimensions, then the data. Plain or gzipped, any rank.
public struct IDXArray {
    public let shape: [Int]
    /// Values as Float (unsigned bytes stay 0...255).
    public let values: [Float]

    public static func read(_ path: String) throws -> IDXArray {
        let data = try readFileMaybeGzipped(path)
        return try decode(data, source: path)
    }

    public static func decode(_ data: Data, source: String) throws -> IDXArray {
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { throw BottleneckError.file(source, "too short for an IDX header (\(bytes.count) bytes)") }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw BottleneckError.file(source, String(format: "not an IDX file (magic number 0x%02X%02X%02X%02X)", bytes[0], bytes[1], bytes[2], bytes[3]))
        }
        let typeCode = bytes[2], rank = Int(bytes[3])
        let size: Int
        switch typeCode {
        case 0x08, 0x09: size = 1
        case 0x0B: size = 2
        case 0x0C, 0x0D: size = 4
        case 0x0E: size = 8
        default: throw BottleneckError.file(source, String(format: "unknown IDX data type 0x%02X", typeCode))
        }
        guard rank >= 1, bytes.count >= 4 + 4 * rank else { throw BottleneckError.file(source, "IDX header truncated") }
        var shape: [Int] = []
        for d in 0..<rank {
            let o = 4 + 4 * d
            shape.append(Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3]))
        }
        // Sizes come from the file: multiply with overflow checks before anything is allocated.
        var n = 1, byteCount = size
        for d in shape {
            let (count, o1) = n.multipliedReportingOverflow(by: d), (total, o2) = byteCount.multipliedReportingOverflow(by: d)
            guard !o1, !o2 else { throw BottleneckError.file(source, "IDX header declares \(formatShape(shape)), too large to be real") }
            n = count
            byteCount = total
        }
        let start = 4 + 4 * rank
        guard bytes.count - start >= byteCount else {
            throw BottleneckError.file(source, "truncated: header says \(formatShape(shape)) (\(n * size) bytes of data), file has \(bytes.count - start)")
        }
        var values = [Float](repeating: 0, count: n)
        bytes.withUnsafeBufferPointer { b in
            let p = b.baseAddress! + start
            func be32(_ i: Int) -> UInt32 { UInt32(p[i]) << 24 | UInt32(p[i + 1]) << 16 | UInt32(p[i + 2]) << 8 | UInt32(p[i + 3]) }
            for i in 0..<n {
                switch typeCode {
                case 0x08: values[i] = Float(p[i])
                case 0x09: values[i] = Float(Int8(bitPattern: p[i]))
                case 0x0B: values[i] = Float(Int16(bitPattern: UInt16(p[2 * i]) << 8 | UInt16(p[2 * i + 1])))
                case 0x0C: values[i] = Float(Int32(bitPattern: be32(4 * i)))
                case 0x0D: values[i] = Float(bitPattern: be32(4 * i))
                default:
                    let hi = UInt64(be32(8 * i)), lo = UInt64(be32(8 * i + 4))
                    values[i] = Float(Double(bitPattern: hi << 32 | lo))
                }
            }
        }
        return IDXArray(shape: shape, values: values)
    }

    /// Writes unsigned-byte IDX (values clamped to 0...255), gzipped if the path ends in .gz.
    public static func writeUInt8(_ values: [Float], shape: [Int], to path: String) throws {
        var d = Data([0, 0, 0x08, UInt8(shape.count)])
        for s in shape { d.append(contentsOf: [UInt8(s >> 24 & 255), UInt8(s >> 16 & 255), UInt8(s >> 8 & 255), UInt8(s & 255)]) }
        d.append(contentsOf: values.map { UInt8(max(0, min(255, $0.rounded()))) })
        try writeAtomically(path.hasSuffix(".gz") ? Gzip.compress(d) : d, to: path)
    }
}
