import Foundation
import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// The safetensors reader and writer: round trips, the layout the spec prescribes, and a clear
/// error (never a crash) for every kind of malformed file.
final class SafeTensorsTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-tests-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func sample() -> SafeTensors {
        let special = Tensor([.nan, .infinity, -0.0, .leastNonzeroMagnitude])
        return SafeTensors(tensors: [("z.weight", randn([3, 5], seed: 2)), ("a.bias", randn([5], seed: 3)),
                                     ("scalar", Tensor(scalar: 42)), ("empty", Tensor(shape: [0, 3])), ("special", special)],
                           metadata: ["architecture": "{\"kind\":\"dense\"}", "note": "ünïcode ✓"])
    }

    /// The bytes of a file with this JSON header (padded as given) and body.
    private func file(header: String, body: [UInt8] = []) -> Data {
        var d = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(contentsOf: Array(header.utf8))
        d.append(contentsOf: body)
        return d
    }

    func testRoundTripKeepsNamesShapesMetadataAndBits() throws {
        let original = sample()
        let p = path("model.safetensors")
        try original.write(to: p)
        let back = try SafeTensors.read(p)
        XCTAssertEqual(back.names, original.names, "file order is write order")
        XCTAssertEqual(back.metadata, original.metadata)
        for name in original.names {
            let a = original[name]!, b = back[name]!
            XCTAssertEqual(b.shape, a.shape, name)
            XCTAssertEqual(b.scalars.map(\.bitPattern), a.scalars.map(\.bitPattern), name)
        }
    }

    func testLayoutFollowsTheSpec() throws {
        let original = sample()
        let bytes = try original.encoded()
        let n = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        XCTAssertEqual((8 + n) % 8, 0, "data starts 8-byte aligned")
        let header = try XCTUnwrap(JSONSerialization.jsonObject(with: bytes.subdata(in: 8..<(8 + n))) as? [String: Any])
        XCTAssertEqual(header["__metadata__"] as? [String: String], original.metadata)
        let body = bytes.subdata(in: (8 + n)..<bytes.count)
        var spans: [(Int, Int)] = []
        for name in original.names {
            let entry = try XCTUnwrap(header[name] as? [String: Any], name)
            XCTAssertEqual(entry["dtype"] as? String, "F32")
            XCTAssertEqual(entry["shape"] as? [Int], original[name]!.shape)
            let offsets = try XCTUnwrap(entry["data_offsets"] as? [Int])
            spans.append((offsets[0], offsets[1]))
            let values = body.subdata(in: offsets[0]..<offsets[1]).withUnsafeBytes { raw in
                (0..<(raw.count / 4)).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self) }
            }
            XCTAssertEqual(values, original[name]!.scalars.map(\.bitPattern), name)
        }
        XCTAssertEqual(header.count, original.names.count + 1)
        // Contiguous, in order, covering the whole body.
        XCTAssertEqual(spans.first?.0, 0)
        for (a, b) in zip(spans, spans.dropFirst()) { XCTAssertEqual(a.1, b.0) }
        XCTAssertEqual(spans.last?.1, body.count)
    }

    func testReadsOtherDtypes() throws {
        // BF16 1.0, -2.5, 0.15625; F16 1.5, -0.25; F64 0.1; I64 -7.
        let body: [UInt8] = [0x80, 0x3F, 0x20, 0xC0, 0x20, 0x3E, 0x00, 0x3E, 0x00, 0xB4]
            + withUnsafeBytes(of: (0.1 as Double).bitPattern.littleEndian, Array.init)
            + withUnsafeBytes(of: Int64(-7).littleEndian, Array.init)
        let header = #"{"b":{"dtype":"BF16","shape":[3],"data_offsets":[0,6]},"h":{"dtype":"F16","shape":[2],"data_offsets":[6,10]},"#
            + #""d":{"dtype":"F64","shape":[1,1],"data_offsets":[10,18]},"i":{"dtype":"I64","shape":[],"data_offsets":[18,26]}}"#
        let st = try SafeTensors.decode(file(header: header, body: body), source: "dtypes.safetensors")
        XCTAssertEqual(st.names, ["b", "h", "d", "i"])
        XCTAssertEqual(st["b"]!.scalars, [1, -2.5, 0.15625])
        XCTAssertEqual(st["h"]!.scalars, [1.5, -0.25])
        XCTAssertEqual(st["d"]!.scalars, [0.1])
        XCTAssertEqual(st["d"]!.shape, [1, 1])
        XCTAssertEqual(st["i"]!.scalars, [-7])
    }

    func testEveryMalformedFileIsAClearError() throws {
        let f32x2 = [UInt8](repeating: 0, count: 8)
        let cases: [(String, Data, String)] = [
            ("empty", Data(), "8-byte"),
            ("short", Data([1, 0, 0]), "8-byte"),
            ("header beyond the file", file(header: "{}").prefix(9), "exceeds the file"),
            ("huge header length", Data([255, 255, 255, 255, 255, 255, 255, 255, 0]), "over the 100000000-byte limit"),
            ("not UTF-8", file(header: "{\"\u{1}\"}").replacingByte(at: 10, with: 0xFF), "UTF-8"),
            ("not JSON", file(header: "{nope"), "JSON object"),
            ("JSON array", file(header: "[1, 2]"), "JSON object"),
            ("entry not an object", file(header: #"{"w":3}"#), "'w'"),
            ("missing shape", file(header: #"{"w":{"dtype":"F32","data_offsets":[0,8]}}"#, body: f32x2), "'w'"),
            ("fractional shape", file(header: #"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,8]}}"#, body: f32x2), "'w'"),
            ("one offset", file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#, body: f32x2), "'w'"),
            ("negative offset", file(header: #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, body: f32x2), "invalid data_offsets"),
            ("reversed offsets", file(header: #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, body: f32x2), "invalid data_offsets"),
            ("offset past the end", file(header: #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, body: f32x2), "runs past the end"),
            ("overlap", file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, body: f32x2), "overlaps"),
            ("gap", file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, body: f32x2), "gap"),
            ("trailing bytes", file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, body: f32x2), "bytes after"),
            ("byte count mismatch", file(header: #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, body: f32x2), "needs 12"),
            ("negative dimension", file(header: #"{"w":{"dtype":"F32","shape":[-1,-2],"data_offsets":[0,8]}}"#, body: f32x2), "negative dimension"),
            ("overflowing shape", file(header: #"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}"#, body: f32x2), "'w'"),
            ("unsupported I8", file(header: #"{"w":{"dtype":"I8","shape":[8],"data_offsets":[0,8]}}"#, body: f32x2), "unsupported dtype I8"),
            ("unsupported text dtype", file(header: #"{"w":{"dtype":"BOOL","shape":[8],"data_offsets":[0,8]}}"#, body: f32x2), "unsupported dtype BOOL"),
            ("metadata not an object", file(header: #"{"__metadata__":[1]}"#), "__metadata__"),
        ]
        for (what, bytes, expected) in cases {
            let p = path("bad-\(what.replacingOccurrences(of: " ", with: "-")).safetensors")
            try bytes.write(to: URL(fileURLWithPath: p))
            XCTAssertThrowsError(try SafeTensors.read(p), what) { error in
                XCTAssertTrue(error is BottleneckError, "\(what): \(error)")
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix(p + ":"), "\(what): the message names the file: \(message)")
                XCTAssertTrue(message.contains(expected), "\(what): expected '\(expected)' in: \(message)")
            }
        }
        XCTAssertThrowsError(try SafeTensors.read(path("missing.safetensors"))) {
            XCTAssertEqual("\($0)", "\(path("missing.safetensors")): no such file")
        }
    }

    /// Every truncation and every single-byte corruption of a valid file decodes or throws; none traps.
    func testTruncatedAndCorruptedFilesNeverCrash() throws {
        let bytes = try SafeTensors(tensors: [("w", randn([2, 3])), ("b", Tensor([1, 2]))], metadata: ["k": "v"]).encoded()
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try SafeTensors.decode(bytes.prefix(length), source: "cut.safetensors"), "cut at \(length)") {
                XCTAssertTrue("\($0)".hasPrefix("cut.safetensors: "), "\($0)")
            }
        }
        for i in 0..<bytes.count {
            for value: UInt8 in [0, 0x22, 0x2D, 0x39, 0x7B, 0xFF] {
                do { _ = try SafeTensors.decode(bytes.replacingByte(at: i, with: value), source: "flip.safetensors") } catch {
                    XCTAssertTrue(error is BottleneckError && "\(error)".hasPrefix("flip.safetensors: "), "byte \(i) = \(value): \(error)")
                }
            }
        }
        // A slice of a larger buffer (indices not starting at 0) decodes too.
        let slice = (Data([9, 9, 9]) + bytes).dropFirst(3)
        XCTAssertEqual(try SafeTensors.decode(slice, source: "slice").names, ["w", "b"])
    }

    func testWritingIsAtomicAndErrorsNameTheFile() throws {
        let p = path("weights.safetensors")
        try sample().write(to: p)
        try sample().write(to: p)  // overwriting works too
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["weights.safetensors"], "no temporary file remains")

        let unwritable = path("no-such-folder/w.safetensors")
        XCTAssertThrowsError(try sample().write(to: unwritable)) { XCTAssertTrue("\($0)".hasPrefix(unwritable), "\($0)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["weights.safetensors"])

        let twice = SafeTensors(tensors: [("w", Tensor([1])), ("w", Tensor([2]))])
        XCTAssertThrowsError(try twice.write(to: path("twice.safetensors"))) { XCTAssertTrue("\($0)".contains("'w'"), "\($0)") }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["weights.safetensors"])
    }

    func testLoadStateDictNamesTheTensorAtFault() throws {
        func model() -> Sequential { Sequential(Linear(3, 2, rng: RandomGenerator(seed: 1)), ReLU(), Linear(2, 1, rng: RandomGenerator(seed: 2))) }
        let source = model(), target = model()
        var state = Dictionary(uniqueKeysWithValues: source.stateDict().map { ($0.0, $0.1.copy()) })
        for (_, t) in state { for i in 0..<t.count { t.data[i] += 1 } }
        try target.load(stateDict: state, from: "ok.safetensors")
        XCTAssertEqual(target.stateDict().map(\.1.scalars), source.stateDict().map { $0.1.scalars.map { $0 + 1 } })

        func assertFails(_ s: [String: Tensor], strict: Bool = true, naming name: String, _ what: String, line: UInt = #line) {
            XCTAssertThrowsError(try model().load(stateDict: s, strict: strict, from: "m.safetensors"), what, line: line) { error in
                XCTAssertTrue("\(error)".hasPrefix("m.safetensors: ") && "\(error)".contains("'\(name)'"), "\(what): \(error)", line: line)
            }
        }
        var missing = state; missing["2.bias"] = nil
        assertFails(missing, naming: "2.bias", "missing tensor")
        var wrongShape = state; wrongShape["0.weight"] = Tensor(shape: [3, 2])
        assertFails(wrongShape, naming: "0.weight", "shape mismatch")
        var extra = state; extra["3.weight"] = Tensor([1])
        assertFails(extra, naming: "3.weight", "unknown tensor")
        XCTAssertNoThrow(try model().load(stateDict: extra, strict: false), "non-strict ignores unknown names")
        // A failed load leaves the model untouched: every name is checked before any is copied.
        let before = target.stateDict().map(\.1.scalars)
        state["2.bias"] = nil
        XCTAssertThrowsError(try target.load(stateDict: state))
        XCTAssertEqual(target.stateDict().map(\.1.scalars), before)
    }
}

private extension Data {
    func replacingByte(at index: Int, with value: UInt8) -> Data {
        var copy = Data(self)
        copy[copy.startIndex + index] = value
        return copy
    }
}
