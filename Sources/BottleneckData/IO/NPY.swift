import Foundation
import BottleneckCore

/// NumPy's .npy format: magic "\x93NUMPY", version, a little-endian header length (2 bytes in
/// version 1, 4 in versions 2 and 3), a Python dict literal {'descr', 'fortran_order', 'shape'},
/// then the raw data. Read: float32, float64, uint8, int32 and int64, little-endian, C order.
public struct NPYArray {
    public var shape: [Int]
    /// The values as Float (int64 above 2^24 loses precision: use `readLabels` for labels).
    public var values: [Float]
    /// The dtype descriptor as in the file, e.g. "<f4", "|u1".
    public var dtype: String
    /// Integer dtypes also keep their exact values.
    public var integers: [Int]?

    public static let supportedDTypes = ["<f4", "<f8", "|u1", "<i4", "<i8"]

    public static func read(_ path: String) throws -> NPYArray {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BottleneckError.file(path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        return try decode(data, source: path)
    }

    /// NumPy's own limit on the header (`max_header_size`): a longer one is refused unread.
    public static let maxHeaderLength = 10_000

    public static func decode(_ data: Data, source: String) throws -> NPYArray {
        let data = data.startIndex == 0 ? data : Data(data)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard data.count >= 10, data.starts(with: magic) else {
            throw BottleneckError.file(source, "not a NumPy .npy file (no \\x93NUMPY magic in its first \(min(data.count, 6)) bytes)")
        }
        let major = data[6]
        let lengthBytes: Int
        switch major {
        case 1: lengthBytes = 2
        case 2, 3: lengthBytes = 4
        default: throw BottleneckError.file(source, "NPY format version \(major).\(data[7]) is not supported (1.0, 2.0 and 3.0 are)")
        }
        guard data.count >= 8 + lengthBytes else { throw BottleneckError.file(source, "NPY header truncated (\(data.count) bytes)") }
        let headerLength = (0..<lengthBytes).reduce(0) { $0 | Int(data[8 + $1]) << (8 * $1) }
        guard headerLength <= maxHeaderLength else {
            throw BottleneckError.file(source, "NPY header says \(headerLength) bytes; at most \(maxHeaderLength) are read (NumPy's own limit)")
        }
        let dataStart = 8 + lengthBytes + headerLength
        guard dataStart <= data.count else {
            throw BottleneckError.file(source, "NPY header says \(headerLength) bytes, the file has only \(data.count - 8 - lengthBytes) after the preamble: truncated")
        }
        guard let header = String(data: data[(8 + lengthBytes)..<dataStart], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw BottleneckError.file(source, "NPY header is not text")
        }
        let (dtype, fortran, shape) = try parseHeader(header, source: source)
        guard !fortran else {
            throw BottleneckError.file(source, "array is in Fortran (column-major) order; save it in C order (numpy.ascontiguousarray) first")
        }
        let itemSize: Int
        switch dtype {
        case "<f4", "<i4": itemSize = 4
        case "<f8", "<i8": itemSize = 8
        case "|u1", "<u1", "u1": itemSize = 1
        default:
            throw BottleneckError.file(source, "dtype '\(dtype)' is not supported (float32 '<f4', float64 '<f8', uint8 '|u1', int32 '<i4', int64 '<i8' are)")
        }
        guard shape.count <= InputLimits.maxRank else {
            throw BottleneckError.file(source, "shape \(formatShape(shape)) has \(shape.count) dimensions; at most \(InputLimits.maxRank) are read")
        }
        guard let n = checkedElementCount(shape), n <= InputLimits.maxValues else {
            throw BottleneckError.file(source, "shape \(formatShape(shape)) is more than the \(InputLimits.maxValues) values a file may hold")
        }
        let available = data.count - dataStart
        guard available == n * itemSize else {
            throw BottleneckError.file(source, "shape \(formatShape(shape)) of \(dtype) needs \(n * itemSize) bytes of data, the file has \(available)\(available < n * itemSize ? ": truncated" : "")")
        }
        var values = [Float](repeating: 0, count: n)
        var integers: [Int]? = nil
        if n > 0 {
            data.withUnsafeBytes { raw in
                let p = raw.baseAddress! + dataStart
                switch dtype {
                case "<f4": values.withUnsafeMutableBytes { _ = memcpy($0.baseAddress!, p, 4 * n) }  // little-endian host
                case "<f8": for i in 0..<n { values[i] = Float(p.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
                case "<i4": integers = (0..<n).map { Int(p.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)) }
                case "<i8": integers = (0..<n).map { Int(p.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)) }
                default: integers = (0..<n).map { Int(p.load(fromByteOffset: $0, as: UInt8.self)) }
                }
            }
        } else if dtype != "<f4" && dtype != "<f8" {
            integers = []
        }
        if let integers { for i in 0..<n { values[i] = Float(integers[i]) } }
        return NPYArray(shape: shape, values: values, dtype: dtype, integers: integers)
    }

    /// The values as a tensor of the file's shape.
    public func tensor() -> Tensor { Tensor(shape: shape, values: values) }

    /// Integer labels from a 1-D integer array (int64, int32 or uint8).
    public static func readLabels(_ path: String) throws -> [Int] {
        let a = try read(path)
        guard let ints = a.integers else { throw BottleneckError.file(path, "labels must be integers, the dtype is '\(a.dtype)'") }
        guard a.shape.count == 1 else { throw BottleneckError.file(path, "labels must be 1-D, the shape is \(formatShape(a.shape))") }
        if let k = ints.firstIndex(where: { $0 < 0 }) { throw BottleneckError.file(path, "label \(ints[k]) at index \(k) is negative") }
        return ints
    }

    /// A dataset from an inputs array [N, ...] (a 1-D array is N samples of one feature) and an
    /// optional labels array [N]. uint8 inputs are scaled from 0...255 to [0, 1] as image bytes;
    /// other dtypes are kept as they are. Non-finite values are an error.
    public static func loadDataset(inputs path: String, labels labelsPath: String? = nil) throws -> Dataset {
        let a = try read(path)
        guard let n = a.shape.first, n > 0, !a.values.isEmpty else { throw BottleneckError.file(path, "holds no samples (shape \(formatShape(a.shape)))") }
        let t = Tensor(shape: a.shape.count == 1 ? [n, 1] : a.shape, values: a.values)
        if a.integers != nil && a.dtype.hasSuffix("u1") { for i in 0..<t.count { t.data[i] /= 255 } }
        var labels: [Int]? = nil
        if let labelsPath {
            labels = try readLabels(labelsPath)
            guard labels!.count == n else { throw BottleneckError.file(labelsPath, "has \(labels!.count) labels for \(n) samples in \(path)") }
        }
        let dataset = Dataset(inputs: t, labels: labels, source: path)
        try validateFinite(dataset)
        return dataset
    }

    /// Writes a tensor as float32 NPY (version 1.0, C order) atomically.
    public static func write(_ tensor: Tensor, to path: String) throws {
        try writeAtomically(encoded(tensor), to: path)
    }

    public static func encoded(_ tensor: Tensor) -> Data {
        let dims = tensor.shape.map(String.init)
        let shapeText = dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        // NumPy pads the header with spaces and a newline so the data starts 64-byte aligned.
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let length = UInt16(header.utf8.count)
        out.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        out.append(Data(header.utf8))
        withExtendedLifetime(tensor) { out.append(UnsafeBufferPointer(start: tensor.data, count: tensor.count)) }
        return out
    }

    /// Reads the header, a Python dict literal with exactly the keys 'descr' (a string),
    /// 'fortran_order' (True or False) and 'shape' (a tuple of integers), as NumPy writes it;
    /// anything else (another key, a key twice, another kind of value, text after the dict) is
    /// an error naming the header.
    static func parseHeader(_ header: String, source: String) throws -> (dtype: String, fortran: Bool, shape: [Int]) {
        func fail(_ why: String) -> BottleneckError {
            .file(source, "malformed NPY header (\(why)): \(header.trimmingCharacters(in: .whitespacesAndNewlines).prefix(200))")
        }
        var rest = Substring(header)
        func skipSpace() { rest = rest.drop { $0 == " " || $0 == "\t" } }
        func expect(_ c: Character, _ what: String) throws {
            skipSpace()
            guard rest.first == c else { throw fail("expected \(what)") }
            rest.removeFirst()
        }
        func string() throws -> String {
            skipSpace()
            guard let q = rest.first, q == "'" || q == "\"" else { throw fail("expected a quoted string") }
            rest.removeFirst()
            guard let close = rest.firstIndex(of: q) else { throw fail("a string is never closed") }
            let text = String(rest[..<close])
            guard !text.contains("\\") else { throw fail("escapes in a string") }
            rest = rest[rest.index(after: close)...]
            return text
        }
        func integer() throws -> Int {
            skipSpace()
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 18, let d = Int(digits) else { throw fail("a dimension is not a non-negative integer") }
            rest = rest.dropFirst(digits.count)
            if rest.first == "L" { rest.removeFirst() }
            return d
        }
        var dtype: String?, fortran: Bool?, shape: [Int]?
        try expect("{", "'{'")
        while true {
            skipSpace()
            if rest.first == "}" { rest.removeFirst(); break }
            let key = try string()
            try expect(":", "':' after '\(key)'")
            skipSpace()
            switch key {
            case "descr":
                guard dtype == nil else { throw fail("'descr' given twice") }
                guard rest.first == "'" || rest.first == "\"" else { throw fail("'descr' is not a string: a structured dtype?") }
                dtype = try string()
            case "fortran_order":
                guard fortran == nil else { throw fail("'fortran_order' given twice") }
                if rest.hasPrefix("True") { fortran = true; rest = rest.dropFirst(4) }
                else if rest.hasPrefix("False") { fortran = false; rest = rest.dropFirst(5) }
                else { throw fail("'fortran_order' is not True or False") }
            case "shape":
                guard shape == nil else { throw fail("'shape' given twice") }
                try expect("(", "'shape' to be a tuple")
                var dims: [Int] = []
                while true {
                    skipSpace()
                    if rest.first == ")" { rest.removeFirst(); break }
                    dims.append(try integer())
                    skipSpace()
                    if rest.first == "," { rest.removeFirst(); continue }
                    guard rest.first == ")" else { throw fail("'shape' is not a tuple of integers") }
                }
                guard dims.count <= 64 else { throw fail("'shape' has \(dims.count) dimensions") }
                shape = dims
            default:
                throw fail("unknown key '\(key)'")
            }
            skipSpace()
            if rest.first == "," { rest.removeFirst(); continue }
            guard rest.first == "}" else { throw fail("expected ',' or '}'") }
        }
        guard rest.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\0" }) else { throw fail("text after the dict") }
        guard let dtype else { throw fail("no 'descr'") }
        guard let fortran else { throw fail("no 'fortran_order'") }
        guard let shape else { throw fail("no 'shape'") }
        return (dtype, fortran, shape)
    }
}
