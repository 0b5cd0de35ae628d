import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// The reproductions of issue 11, run through the shipped executable: each hostile or careless
/// file gets one line naming it and what is wrong, a non-zero exit, no crash, and nothing written.
final class HostileInputTests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-hostile" }

    func write(_ name: String, _ data: Data) { FileManager.default.createFile(atPath: dir + "/" + name, contents: data) }

    func idx(_ shape: [Int], data: [UInt8] = []) -> Data {
        var d = Data([0, 0, 0x08, UInt8(shape.count)])
        for s in shape { d.append(contentsOf: [UInt8(s >> 24 & 255), UInt8(s >> 16 & 255), UInt8(s >> 8 & 255), UInt8(s & 255)]) }
        return d + Data(data)
    }

    /// Runs a command expected to fail; asserts one line with `fragments`, a clean non-zero
    /// exit, and that the folder holds exactly what it held before.
    func refuse(_ args: [String], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        try expectCLIError(args, in: dir, fragments, file: file, line: line)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), before, "nothing written by \(args)", file: file, line: line)
    }

    /// An untrained dense model file for [1, 4, 4] inputs, and good data for it.
    func modelFile(_ name: String = "m.safetensors") throws {
        let spec = try Preset.dense.spec(inputShape: [1, 4, 4], codeSize: 3)
        let model = try Autoencoder(spec: spec, inputShape: [1, 4, 4], rng: RandomGenerator(seed: 0))
        try TrainedModel(model: model, scaler: .fixedRange(min: 0, max: 1)).save(to: dir + "/" + name)
        write("good-ubyte", idx([6, 4, 4], data: (0..<96).map { UInt8($0 * 2) }))
    }

    /// A copy of the model file with its architecture document edited.
    func editedModel(_ name: String, _ edit: (inout [String: Any]) -> Void) throws {
        var file = try SafeTensors.read(dir + "/m.safetensors")
        var arch = try JSONSerialization.jsonObject(with: Data(file.metadata["architecture"]!.utf8)) as! [String: Any]
        edit(&arch)
        file.metadata["architecture"] = String(decoding: try JSONSerialization.data(withJSONObject: arch), as: UTF8.self)
        try file.write(to: dir + "/" + name)
    }

    func testIDXWhoseSizesOverflowIsRefusedByEveryCommand() throws {
        try modelFile()
        write("overflow-ubyte", idx([0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF]))
        let fragments = ["overflow-ubyte", "more than the 4294967296 values a file may hold"]
        try refuse(["train", "--data", "overflow-ubyte", "-o", "out.safetensors"], fragments)
        try refuse(["eval", "--model", "m.safetensors", "--data", "overflow-ubyte"], fragments)
        try refuse(["detect", "--model", "m.safetensors", "--data", "overflow-ubyte", "--output", "s.csv"], fragments)
    }

    func testArchitecturesTooLargeForMemoryAreRefused() throws {
        try modelFile()
        let arch = #"{"name": "huge", "encoder": [{"type": "flatten"}, {"type": "linear", "out": 2000000000}], "decoder": [{"type": "linear", "out": 16}]}"#
        write("huge.json", Data(arch.utf8))
        let needs = ["--max-model-memory (8 GiB) is exceeded", "for its parameters", "encoder layer 1 (linear)"]
        try refuse(["train", "--data", "good-ubyte", "--arch", "huge.json", "-o", "out.safetensors"], needs)
        try refuse(["summary", "--arch", "huge.json", "--input-shape", "1x4x4"], needs)
        try refuse(["summary", "--preset", "dense", "--input-shape", "1x100000x100000"], ["one sample's activations need 37.3 GiB"])
        try editedModel("huge.safetensors") { a in
            var encoder = a["encoder"] as! [[String: Any]]
            encoder[1]["out"] = 2_000_000_000
            a["encoder"] = encoder
        }
        try refuse(["eval", "--model", "huge.safetensors", "--data", "good-ubyte"], needs + ["model file huge.safetensors"])
        try editedModel("wide.safetensors") { $0["inputShape"] = [1, 100000, 100000] }
        try refuse(["eval", "--model", "wide.safetensors", "--data", "good-ubyte"], ["one sample's activations need 37.3 GiB", "[1, 100000, 100000]"])
        // The limit is the user's to raise or lower.
        try refuse(["summary", "--preset", "dense", "--max-model-memory", "64KiB"], ["--max-model-memory (64 KiB) is exceeded"])
        XCTAssertEqual(try runCLI(["summary", "--preset", "dense", "--max-model-memory", "1MiB"], in: dir).status, 0, "dense needs about 200 KiB")
        for bad in ["1Q", "lots", "8 QiB"] {
            let r = try runCLI(["summary", "--preset", "dense", "--max-model-memory", bad], in: dir)
            XCTAssertNotEqual(r.status, 0, bad)
            XCTAssertTrue(r.err.hasPrefix("Error: The value '\(bad)' is invalid for '--max-model-memory"), r.err)
        }
    }

    func testDataThatMustBeRefused() throws {
        try modelFile()
        write("empty-ubyte", idx([0, 4, 4]))
        try refuse(["train", "--data", "empty-ubyte", "-o", "out.safetensors"], ["empty-ubyte", "holds no values"])
        try refuse(["eval", "--model", "m.safetensors", "--data", "empty-ubyte"], ["empty-ubyte", "holds no values"])
        write("long-ubyte", idx([6, 4, 4], data: [UInt8](repeating: 1, count: 100)))
        try refuse(["train", "--data", "long-ubyte", "-o", "out.safetensors"], ["long-ubyte", "has bytes after the 96 bytes of data"])
        write("rank9-ubyte", idx([Int](repeating: 1, count: 9), data: [1]))
        try refuse(["train", "--data", "rank9-ubyte", "-o", "out.safetensors"], ["rank9-ubyte", "rank 9"])
        var header = "{'descr': '<f4', 'fortran_order': Flase, 'shape': (2, 3), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        write("bad.npy", Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count), 0]) + Data(header.utf8) + Data(count: 24))
        try refuse(["train", "--data", "bad.npy", "-o", "out.safetensors"], ["bad.npy", "malformed NPY header", "'fortran_order' is not True or False"])
        // A gzip bomb behind a valid header: refused without inflating it (peak memory is in `make fuzz`'s notes).
        var bomb = idx([6, 4, 4], data: [UInt8](repeating: 1, count: 96))
        bomb.append(Data(count: 32 << 20))
        write("bomb-ubyte.gz", Gzip.compress(bomb))
        try refuse(["train", "--data", "bomb-ubyte.gz", "-o", "out.safetensors"], ["bomb-ubyte.gz", "has bytes after the 96 bytes"])
    }

    func testModelFilesThatMustBeRefused() throws {
        try modelFile()
        var file = try SafeTensors.read(dir + "/m.safetensors")
        for name in file.names { let t = file.tensors[name]!; for i in 0..<t.count { t.data[i] = .nan } }
        try file.write(to: dir + "/nan.safetensors")
        try refuse(["eval", "--model", "nan.safetensors", "--data", "good-ubyte"], ["nan.safetensors", "holds a non-finite value (nan at index 0)"])
        try editedModel("empty.safetensors") { a in a["encoder"] = [Any](); a["decoder"] = [Any]() }
        try refuse(["eval", "--model", "empty.safetensors", "--data", "good-ubyte"], ["empty.safetensors", "the encoder has no layers"])
        write("empty.json", Data(#"{"name": "e", "encoder": [], "decoder": []}"#.utf8))
        try refuse(["train", "--data", "good-ubyte", "--arch", "empty.json", "-o", "out.safetensors"], ["the encoder has no layers"])
        // The same tensor twice in the header: readers would disagree on which one counts.
        let raw = try Data(contentsOf: URL(fileURLWithPath: dir + "/m.safetensors"))
        let length = Int(raw.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var headerText = String(decoding: raw[8..<(8 + length)], as: UTF8.self)
        let first = try JSONSerialization.jsonObject(with: Data(headerText.utf8)) as! [String: Any]
        let name = first.keys.sorted().first { $0 != "__metadata__" }!
        let entry = String(decoding: try JSONSerialization.data(withJSONObject: first[name]!), as: UTF8.self)
        headerText = "{\"\(name)\": \(entry), " + headerText.dropFirst()
        var dup = Data()
        withUnsafeBytes(of: UInt64(headerText.utf8.count).littleEndian) { dup.append(contentsOf: $0) }
        write("dup.safetensors", dup + Data(headerText.utf8) + raw[(8 + length)...])
        try refuse(["eval", "--model", "dup.safetensors", "--data", "good-ubyte"], ["dup.safetensors", "key '\(name)' appears twice"])
    }

    func testCSVFirstRowTypoIsAnErrorNotAHeader() throws {
        write("typo.csv", Data("1,2,3x\n4,5,6\n7,8,9\n".utf8))
        try refuse(["train", "--data", "typo.csv", "-o", "out.safetensors"], ["typo.csv", "row 1 mixes names and numbers", "column 3 '3x'"])
        write("years.csv", Data("id,2020,2021\n1,2,3\n4,5,6\n7,8,9\n".utf8))
        try refuse(["train", "--data", "years.csv", "-o", "out.safetensors"], ["years.csv", "row 1 mixes"])
        let ok = try runCLI(["train", "--data", "years.csv", "--header", "--epochs", "1", "-o", "out.safetensors"], in: dir)
        XCTAssertEqual(ok.status, 0, "--header says the first row is names: \(ok.err)")
        XCTAssertEqual(try TrainedModel.load(dir + "/out.safetensors").featureNames, ["id", "2020", "2021"])
    }
}
