import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// Every reader checks what a file declares against the bytes present and the stated limits
/// before it allocates, and refuses with one line; none traps. Runs in the debug build too
/// (bounds and overflow checks on), so an unchecked size here is a failure, not a wrap-around.
final class ReaderLimitTests: XCTestCase {
    func idx(_ shape: [Int], type: UInt8 = 0x08, rank: Int? = nil, data: [UInt8] = []) -> Data {
        var d = Data([0, 0, type, UInt8(rank ?? shape.count)])
        for s in shape { d.append(contentsOf: [UInt8(s >> 24 & 255), UInt8(s >> 16 & 255), UInt8(s >> 8 & 255), UInt8(s & 255)]) }
        return d + Data(data)
    }

    func expectError(_ what: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), what, file: file, line: line) { e in
            let text = "\(e)"
            XCTAssertTrue(e is BottleneckError, "\(what): \(type(of: e)) \(text)", file: file, line: line)
            XCTAssertFalse(text.contains("\n"), "\(what): one line: \(text)", file: file, line: line)
            for f in fragments { XCTAssertTrue(text.contains(f), "\(what): '\(f)' not in: \(text)", file: file, line: line) }
        }
    }

    // MARK: IDX and gzip

    func testIDXRefusesWhatTheFormatOrTheLimitsDoNotAllow() {
        let cases: [(String, Data, [String])] = [
            ("overflowing sizes", idx([0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF]), ["more than the 4294967296 values"]),
            ("past the value limit", idx([65536, 65536, 2]), ["more than the 4294967296 values"]),
            ("zero samples", idx([0, 28, 28]), ["holds no values", "dimension 1 of [0, 28, 28] is 0"]),
            ("zero width", idx([3, 28, 0]), ["dimension 3"]),
            ("rank 9", idx([Int](repeating: 1, count: 9), data: [1]), ["rank 9", "ranks 1...8"]),
            ("rank 0", idx([], data: [1]), ["rank 0"]),
            ("trailing bytes", idx([2, 2], data: [1, 2, 3, 4, 5]), ["has bytes after the 4 bytes of data", "[2, 2]"]),
            ("truncated", idx([2, 2], data: [1, 2, 3]), ["truncated"]),
            // Found by the idx harness: 36 bytes declaring 2 GiB of floats were allocated before reading.
            ("more than the file holds", idx([0x0800_0003, 4], type: 0x0D, data: [UInt8](repeating: 0x3F, count: 40)), ["truncated", "can hold at most"]),
            ("truncated header", idx([2, 2]).prefix(9), ["header truncated"]),
            ("unknown type", idx([1], type: 0x42, data: [0]), ["unknown IDX data type 0x42"]),
        ]
        for (what, data, fragments) in cases {
            expectError(what, ["t.idx"] + fragments) { _ = try IDXArray.decode(data, source: "t.idx") }
            expectError("\(what), gzipped", ["t.idx"] + fragments) { _ = try IDXArray.decode(Gzip.compress(data), source: "t.idx") }
        }
        XCTAssertEqual(try IDXArray.decode(Gzip.compress(idx([2, 2], data: [1, 2, 3, 4])), source: "t").values, [1, 2, 3, 4])
    }

    /// A gzip bomb behind a small header: refused after reading the declared bytes and one more,
    /// never inflated whole.
    func testGzipBombBehindASmallHeaderIsNotInflated() throws {
        var raw = idx([10, 28, 28], data: [UInt8](repeating: 0, count: 7840))
        raw.append(Data(count: 64 << 20))
        let bomb = Gzip.compress(raw)
        XCTAssertLessThan(bomb.count, 100_000, "64 MiB of zeros deflate small")
        final class Counting: ByteStream {
            let inner: ByteStream
            var delivered = 0
            init(_ inner: ByteStream) { self.inner = inner }
            var maxBytesRemaining: Int { inner.maxBytesRemaining }
            func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
                let n = try inner.read(into: buffer)
                delivered += n
                return n
            }
        }
        let counting = Counting(GzipStream(DataStream(bomb), source: "bomb.gz"))
        expectError("bomb", ["bomb.gz", "has bytes after the 7840 bytes"]) { _ = try IDXArray.read(from: counting, source: "bomb.gz") }
        XCTAssertEqual(counting.delivered, 16 + 7840 + 1, "inflated exactly the header, the declared data and one byte")
        // A whole-file read stops at its limit.
        expectError("limit", ["bomb.gz", "holds more than 1 MiB"]) { _ = try Gzip.decompress(bomb, source: "bomb.gz", limit: 1 << 20) }
    }

    func testGzipStreamReadsMembersAndRefusesDamage() throws {
        let a = Data((0..<1000).map { UInt8($0 % 251) }), b = Data("second member".utf8)
        XCTAssertEqual(try Gzip.decompress(Gzip.compress(a) + Gzip.compress(b), source: "t.gz"), a + b, "concatenated members, as gzip -d reads them")
        let whole = Gzip.compress(a)
        expectError("truncated", ["t.gz", "truncated"]) { _ = try Gzip.decompress(whole.prefix(whole.count - 10), source: "t.gz") }
        var damaged = whole
        damaged[12] ^= 0xFF
        expectError("damaged", ["t.gz", "corrupt gzip data"]) { _ = try Gzip.decompress(damaged, source: "t.gz") }
        expectError("garbage after", ["t.gz", "corrupt gzip data"]) { _ = try Gzip.decompress(whole + Data([1, 2, 3]), source: "t.gz") }
    }

    func testIDXLabelsMustBeClassNumbers() throws {
        let dir = NSTemporaryDirectory() + "bn-idx-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        FileManager.default.createFile(atPath: dir + "/i", contents: idx([2, 2, 2], data: [UInt8](repeating: 1, count: 8)))
        var labels = Data([0, 0, 0x0D, 1, 0, 0, 0, 2])  // float labels: 1.0 and NaN
        labels.append(contentsOf: [0x3F, 0x80, 0, 0, 0x7F, 0xC0, 0, 0])
        FileManager.default.createFile(atPath: dir + "/l", contents: labels)
        expectError("NaN label", ["\(dir)/l", "label nan at index 1 is not a class number"]) {
            _ = try FashionMNIST.loadIDXPair(images: dir + "/i", labels: dir + "/l")
        }
    }

    // MARK: NPY

    func npy(_ header: String, data: Data = Data(count: 24)) -> Data {
        var h = header
        while (10 + h.utf8.count + 1) % 64 != 0 { h += " " }
        h += "\n"
        var d = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(h.utf8.count & 255), UInt8(h.utf8.count >> 8)])
        d.append(Data(h.utf8))
        return d + data
    }

    func testNPYHeaderMustBeTheLiteralNumPyWrites() throws {
        let good = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }")
        XCTAssertEqual(try NPYArray.decode(good, source: "t.npy").shape, [2, 3])
        XCTAssertEqual(try NPYArray.decode(npy("{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(6,)}"), source: "t.npy").shape, [6])
        let cases: [(String, String, String)] = [
            ("misspelt literal", "{'descr': '<f4', 'fortran_order': Flase, 'shape': (2, 3), }", "'fortran_order' is not True or False"),
            ("unknown key", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'extra': 1}", "unknown key 'extra'"),
            ("key twice", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", "'descr' given twice"),
            ("no shape", "{'descr': '<f4', 'fortran_order': False}", "no 'shape'"),
            ("text after the dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", "text after the dict"),
            ("shape of text", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 'a')}", "not a non-negative integer"),
            ("negative dimension", "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3)}", "not a non-negative integer"),
            ("huge dimension", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 3)}", "not a non-negative integer"),
            ("structured dtype", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}", "structured dtype"),
            ("unclosed", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", "expected ',' or '}'"),
        ]
        for (what, header, fragment) in cases {
            expectError(what, ["t.npy", fragment]) { _ = try NPYArray.decode(npy(header), source: "t.npy") }
        }
        expectError("rank 9", ["t.npy", "9 dimensions; at most 8"]) {
            _ = try NPYArray.decode(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,6)}"), source: "t.npy")
        }
        expectError("overflow", ["t.npy", "more than the 4294967296 values"]) {
            _ = try NPYArray.decode(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (999999999999, 999999999999)}"), source: "t.npy")
        }
        expectError("trailing bytes", ["t.npy", "needs 24 bytes of data, the file has 25"]) {
            _ = try NPYArray.decode(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", data: Data(count: 25)), source: "t.npy")
        }
        var long = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0, 0xFF, 0xFF, 0xFF, 0x7F])
        long.append(Data(count: 16))
        expectError("header past NumPy's limit", ["t.npy", "at most 10000"]) { _ = try NPYArray.decode(long, source: "t.npy") }
    }

    // MARK: CSV

    func csv(_ text: String, header: Bool? = nil) throws -> CSVData { try CSV.parse(Data(text.utf8), source: "t.csv", header: header) }

    func testCSVHeaderRule() throws {
        XCTAssertEqual(try csv("a,b,c\n1,2,3\n").featureNames, ["a", "b", "c"], "all names: a header")
        XCTAssertEqual(try csv("1,2,3\n4,5,6\n").dataset.count, 2, "all numbers: data, no row lost")
        XCTAssertEqual(try csv(",x,y\n0,1,2\n").featureNames, ["", "x", "y"], "an empty cell above an index counts as a name")
        expectError("a typo in the first data row", ["t.csv", "row 1 mixes names and numbers", "column 3 '3x' is not a number", "column 1 '1' is"]) {
            _ = try csv("1,2,3x\n4,5,6\n")
        }
        expectError("a number among the names", ["row 1 mixes"]) { _ = try csv("id,2020,2021\n1,2,3\n") }
        XCTAssertEqual(try csv("id,2020,2021\n1,2,3\n", header: true).featureNames, ["id", "2020", "2021"], "an explicit header wins")
        XCTAssertEqual(try csv("1,2,3\n4,5,6\n", header: false).dataset.count, 2)
        expectError("a name twice", ["t.csv", "header names column 'a' twice (columns 1 and 3)"]) { _ = try csv("a,b,a\n1,2,3\n") }
    }

    // MARK: JSON documents and safetensors

    func testDuplicateKeysAndDeepNestingAreRefused() throws {
        XCTAssertNil(jsonStructureProblem(Data(#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#.utf8)), "the same key in different objects is fine")
        XCTAssertEqual(jsonStructureProblem(Data(#"{"a": 1, "b": {"c": 1, "c": 2}}"#.utf8)), "key 'c' appears twice in one object")
        XCTAssertEqual(jsonStructureProblem(Data(#"{"a": 1, "\u0061": 2}"#.utf8)), "key 'a' appears twice in one object", "escapes are decoded")
        XCTAssertNil(jsonStructureProblem(Data(#"{"s": "a \" , \"a\": 1"}"#.utf8)), "quotes inside strings")
        let deep = { (n: Int) in Data((String(repeating: "[", count: n) + String(repeating: "]", count: n)).utf8) }
        XCTAssertNil(jsonStructureProblem(deep(64)))
        XCTAssertEqual(jsonStructureProblem(deep(65)), "nested deeper than 64 levels")
        expectError("architecture with a key twice", ["arch.json", "key 'encoder' appears twice"]) {
            _ = try decodeJSON(ArchitectureSpec.self, #"{"name": "x", "encoder": [], "encoder": [], "decoder": []}"#, source: "arch.json")
        }
    }

    func safetensors(_ header: String, body: Data) -> Data {
        var d = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        return d + Data(header.utf8) + body
    }

    func testSafeTensorsRefusesDuplicateNamesAndRanksPastTheLimit() {
        let dup = #"{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}"#
        expectError("tensor named twice", ["t.safetensors", "key 'w' appears twice"]) { _ = try SafeTensors.decode(safetensors(dup, body: Data(count: 8)), source: "t.safetensors") }
        let meta = #"{"__metadata__": {"format": "a", "format": "b"}}"#
        expectError("metadata key twice", ["key 'format' appears twice"]) { _ = try SafeTensors.decode(safetensors(meta, body: Data()), source: "t.safetensors") }
        let rank9 = #"{"w": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1], "data_offsets": [0, 4]}}"#
        expectError("rank 9", ["9 dimensions; at most 8"]) { _ = try SafeTensors.decode(safetensors(rank9, body: Data(count: 4)), source: "t.safetensors") }
    }

    func testNonFiniteWeightsAreRefusedAtLoad() throws {
        let layer = Linear(3, 2, rng: RandomGenerator(seed: 0))
        var weights = Dictionary(uniqueKeysWithValues: layer.stateDict())
        let bad = weights["weight"]!.copy()
        bad.data[4] = .infinity
        weights["weight"] = bad
        expectError("infinite weight", ["m.safetensors", "tensor 'weight' holds a non-finite value (inf at index 4)"]) {
            try layer.load(stateDict: weights, from: "m.safetensors")
        }
    }

    // MARK: Architectures: measured before they are built

    func spec(_ encoder: [LayerSpec], _ decoder: [LayerSpec]) -> ArchitectureSpec { ArchitectureSpec(name: "t", encoder: encoder, decoder: decoder) }
    func build(_ s: ArchitectureSpec, _ shape: [Int] = [1, 28, 28], limit: ByteCount = ModelMemory.defaultLimit) throws -> Autoencoder {
        try Autoencoder(spec: s, inputShape: shape, rng: RandomGenerator(seed: 0), memoryLimit: limit)
    }

    func testModelsPastTheMemoryLimitAreRefusedBeforeAllocation() throws {
        let huge = spec([LayerSpec("flatten"), LayerSpec("linear", ["out": .number(2_000_000_000)])], [LayerSpec("linear", ["out": .number(784)])])
        expectError("2e9 outputs", ["maxModelMemory (8 GiB) is exceeded", "the model needs 5.71 TiB for its parameters", "encoder layer 1 (linear)"]) {
            _ = try build(huge)
        }
        XCTAssertThrowsError(try build(huge)) { XCTAssertEqual(($0 as? BottleneckError)?.field, .maxModelMemory) }
        let dense = try Preset.dense.spec(inputShape: [1, 28, 28], codeSize: 32)
        expectError("input shape", ["one sample's activations need 37.3 GiB", "the input is [1, 100000, 100000]"]) {
            _ = try build(dense, [1, 100000, 100000])
        }
        expectError("a small limit", ["maxModelMemory (100 KiB) is exceeded"]) { _ = try build(dense, limit: ByteCount(100 << 10)) }
        XCTAssertNoThrow(try build(dense, limit: ByteCount(1 << 20)), "dense needs about 200 KiB")
        let upsampled = spec([LayerSpec("upsample", ["scale": .number(16_000_000)])], [LayerSpec("flatten")])
        expectError("activations past the limit", ["encoder layer 0 (upsample) outputs [1, 448000000, 448000000]"]) { _ = try build(upsampled) }
        let bigKernel = spec([LayerSpec("conv2d", ["out": .number(1), "kernel": .number(1e9)])], [LayerSpec("flatten")])
        expectError("kernel past the spatial limit", ["argument 'kernel'", "more than the 16777216"]) { _ = try build(bigKernel) }
        let hugeArgument = spec([LayerSpec("flatten"), LayerSpec("linear", ["out": .number(1e300)])], [LayerSpec("linear", ["out": .number(784)])])
        expectError("an integer past Int32", ["argument 'out' must be an integer of at most 2147483647"]) { _ = try build(hugeArgument) }
        let unflatten = spec([LayerSpec("flatten")], [LayerSpec("unflatten", ["shape": .array([Double](repeating: 2_000_000_000, count: 4).map { .number($0) })])])
        expectError("unflatten product overflows", ["Unflatten"]) { _ = try build(unflatten) }
        expectError("empty encoder", ["model 't': the encoder has no layers"]) { _ = try build(spec([], [LayerSpec("flatten")])) }
        expectError("empty decoder", ["model 't': the decoder has no layers"]) { _ = try build(spec([LayerSpec("flatten")], [])) }
        expectError("negative in", ["argument 'in' must be at least 1"]) {
            _ = try build(spec([LayerSpec("flatten"), LayerSpec("linear", ["in": .number(-3), "out": .number(4)])], [LayerSpec("linear", ["out": .number(784)])]))
        }
    }

    /// The counts made before building equal what the built models hold, for every preset and
    /// every layer type with values (conv, transposed conv, BatchNorm, LSTM, residual).
    func testMemoryCountsEqualTheBuiltModels() throws {
        var specs: [(String, ArchitectureSpec, [Int])] = Preset.allCases.compactMap { p in
            guard let s = try? p.spec(inputShape: p == .lstm ? [20, 3] : [1, 28, 28], codeSize: 16) else { return nil }
            return (p.rawValue, s, p == .lstm ? [20, 3] : [1, 28, 28])
        }
        specs.append(("residual", spec([LayerSpec("residual", ["out": .number(8), "stride": .number(2)]), LayerSpec("residual"), LayerSpec("flatten")],
                                        [LayerSpec("linear", ["out": .number(784)])]), [1, 28, 28]))
        XCTAssertGreaterThan(specs.count, 5)
        for (name, s, shape) in specs {
            let m = try build(s, shape)
            let stored = m.stateDict().reduce(0) { $0 + $1.1.count }
            XCTAssertEqual(m.memory.valueBytes, 4 * stored, "\(name): counted before building vs held")
            XCTAssertGreaterThan(m.memory.activationBytes, 4 * shape.reduce(1, *), name)
        }
    }

    func testByteCounts() {
        XCTAssertEqual(ByteCount(parsing: "8GiB")?.bytes, 8 << 30)
        XCTAssertEqual(ByteCount(parsing: "512 MiB")?.bytes, 512 << 20)
        XCTAssertEqual(ByteCount(parsing: "1.5G")?.bytes, 3 << 29)
        XCTAssertEqual(ByteCount(parsing: "100k")?.bytes, 102_400)
        XCTAssertEqual(ByteCount(parsing: "4096")?.bytes, 4096)
        for bad in ["", "GiB", "-1G", "8 QiB", "1e30T", "eight"] { XCTAssertNil(ByteCount(parsing: bad), bad) }
        XCTAssertEqual(ByteCount(23_400_000_000).description, "21.8 GiB")
        XCTAssertEqual(ByteCount(8 << 30).description, "8 GiB")
        XCTAssertEqual(ByteCount(300).description, "300 bytes")
        XCTAssertEqual(ByteCount(100 << 10).description, "100 KiB")
        XCTAssertEqual(ByteCount(10 << 20).description, "10 MiB")
    }
}
