import Foundation
import BottleneckCore

/// The safetensors format (PyTorch users share weights in it): an 8-byte little-endian header
/// length, a JSON header mapping each name to {dtype, shape, data_offsets}, then the raw
/// little-endian data. `__metadata__` holds string pairs; we keep the architecture there.
public struct SafeTensors {
    public var tensors: [String: Tensor]
    /// Names in file order (the order they were written).
    public var names: [String]
    public var metadata: [String: String]

    public init(tensors: [(String, Tensor)], metadata: [String: String] = [:]) {
        self.tensors = Dictionary(tensors, uniquingKeysWith: { a, _ in a })
        names = tensors.map(\.0)
        self.metadata = metadata
    }

    public subscript(name: String) -> Tensor? { tensors[name] }

    /// Reads a file; every problem is a `BottleneckError` naming the file.
    public static func read(_ path: String) throws -> SafeTensors {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BottleneckError.file(path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        return try decode(data, source: path)
    }

    /// Decodes a file's bytes; `source` names the file in errors. Malformed input of any kind
    /// (truncation, bad JSON, overlapping or out-of-range offsets, wrong byte counts, unsupported
    /// dtypes) throws a `BottleneckError`; it never traps.
    public static func decode(_ data: Data, source: String) throws -> SafeTensors {
        func fail(_ why: String) -> BottleneckError { .file(source, "not a valid safetensors file: \(why)") }
        let data = data.startIndex == 0 ? data : Data(data)  // a slice keeps its parent's indices
        guard data.count >= 8 else { throw fail("shorter than its 8-byte header length") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(InputLimits.maxHeaderBytes) else {
            throw fail("header length \(headerLength) is over the \(InputLimits.maxHeaderBytes)-byte limit")
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("header length \(headerLength) exceeds the file (\(data.count) bytes): truncated?")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard String(data: headerData, encoding: .utf8) != nil else { throw fail("header is not UTF-8 text") }
        // Duplicate names would be resolved silently (and differently by different readers).
        if let problem = jsonStructureProblem(headerData) { throw fail("header: \(problem)") }
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        let body = data.subdata(in: (8 + Int(headerLength))..<data.count)
        var metadata: [String: String] = [:]
        var entries: [(name: String, begin: Int, end: Int, dtype: String, shape: [Int])] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in m { metadata[k] = v as? String ?? "\(v)" }
                continue
            }
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("entry '\(name)' lacks dtype, shape or data_offsets")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= begin else { throw fail("tensor '\(name)' has invalid data_offsets [\(begin), \(end)]") }
            guard end <= body.count else {
                throw fail("tensor '\(name)' runs past the end of the data (\(end) > \(body.count)): truncated?")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("tensor '\(name)' has a negative dimension in shape \(shape)") }
            guard shape.count <= InputLimits.maxRank else { throw fail("tensor '\(name)' has \(shape.count) dimensions; at most \(InputLimits.maxRank) are read") }
            entries.append((name, begin, end, dtype, shape))
        }
        // The spec: tensors tile the data exactly, in offset order, without overlap or gap.
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var covered = 0
        for e in entries {
            guard e.begin == covered else {
                throw fail(e.begin < covered ? "tensor '\(e.name)' overlaps the tensor before it" : "gap in the data before tensor '\(e.name)'")
            }
            covered = e.end
        }
        guard covered == body.count else { throw fail("\(body.count - covered) bytes after the last tensor") }

        var tensors: [(String, Tensor)] = []
        for e in entries {
            let elementSize: Int
            switch e.dtype {
            case "F32": elementSize = 4
            case "F64", "I64": elementSize = 8
            case "F16", "BF16": elementSize = 2
            default:
                throw BottleneckError.file(source, "tensor '\(e.name)' has unsupported dtype \(e.dtype) (F32, F64, F16, BF16 and I64 are read)")
            }
            // Overflow-checked, and checked before allocating: a corrupt shape must not allocate.
            var n = 1, needed = elementSize, overflow = false
            for d in e.shape where !overflow {
                (n, overflow) = n.multipliedReportingOverflow(by: d)
                if !overflow { (needed, overflow) = n.multipliedReportingOverflow(by: elementSize) }
            }
            guard !overflow, needed == e.end - e.begin else {
                throw fail("tensor '\(e.name)' has \(e.end - e.begin) bytes, but \(e.dtype) shape \(e.shape) needs \(overflow ? "more than can be counted" : String(needed))")
            }
            let t = Tensor(shape: e.shape, zeroed: false)
            if n > 0 {
                body.withUnsafeBytes { raw in
                    let bytes = raw.baseAddress!.advanced(by: e.begin)  // non-nil: the data holds n > 0 elements
                    switch e.dtype {
                    case "F32": memcpy(t.data, bytes, 4 * n)  // little-endian host
                    case "F64": for i in 0..<n { t.data[i] = Float(bytes.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
                    case "F16": for i in 0..<n { t.data[i] = Float(Float16(bitPattern: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                    case "BF16":  // the upper half of a Float32
                        for i in 0..<n { t.data[i] = Float(bitPattern: UInt32(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
                    default: for i in 0..<n { t.data[i] = Float(bytes.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)) }
                    }
                }
            }
            tensors.append((e.name, t))
        }
        return SafeTensors(tensors: tensors, metadata: metadata)
    }

    /// The file's bytes: F32 tensors in `names` order, 8-byte aligned header.
    public func encoded() throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        var seen = Set<String>()
        for name in names {
            guard let t = tensors[name] else { throw BottleneckError("safetensors: no tensor for the listed name '\(name)'") }
            guard name != "__metadata__", seen.insert(name).inserted else {
                throw BottleneckError("safetensors: tensor name '\(name)' is reserved or given twice")
            }
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.count]] as [String: Any]
            offset += 4 * t.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (json.count + 8) % 8 != 0 { json.append(0x20) }  // pad with spaces, as the spec allows
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            let t = tensors[name]!  // checked above
            out.append(UnsafeBufferPointer(start: t.data, count: t.count))
        }
        return out
    }

    /// Writes atomically (temporary name, then rename), so a crash never leaves half a file.
    public func write(to path: String) throws {
        let bytes: Data
        do { bytes = try encoded() } catch { throw BottleneckError.file(path, "cannot be written: \(error)") }
        try writeAtomically(bytes, to: path)
    }
}
