import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// The `bottleneck` executable as a user runs it: bad input gives one clear line naming the file
/// or flag, a non-zero exit, no stack trace, and no partly written output.
final class CLITests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-cli" }

    @discardableResult
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) { try runCLI(args, in: dir) }

    func expectError(_ args: [String], _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        try expectCLIError(args, in: dir, fragments, file: file, line: line)
    }

    func write(_ name: String, _ data: Data) -> String {
        let path = dir + "/" + name
        FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    /// A small untrained dense model file for [1, 28, 28] inputs (no training needed to test errors).
    func denseModelFile(_ name: String = "dense.safetensors", code: Int = 32) throws -> String {
        let spec = try Preset.dense.spec(inputShape: [1, 28, 28], codeSize: code)
        let model = try Autoencoder(spec: spec, inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0))
        try TrainedModel(model: model, scaler: .fixedRange(min: 0, max: 1)).save(to: dir + "/" + name)
        return name
    }

    func idx(_ shape: [Int], values: [UInt8]) -> Data {
        var d = Data([0, 0, 0x08, UInt8(shape.count)])
        for s in shape { d.append(contentsOf: [UInt8(s >> 24 & 255), UInt8(s >> 16 & 255), UInt8(s >> 8 & 255), UInt8(s & 255)]) }
        d.append(contentsOf: values)
        return d
    }

    func testMissingDataFile() throws {
        try expectError(["train", "--data", "nope.csv", "-o", "m.safetensors"], ["nope.csv", "no such file"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.safetensors"))
    }

    func testWrongIDXMagic() throws {
        _ = write("bad-ubyte", Data([0x12, 0x34, 0x08, 0x03, 0, 0, 0, 1]))
        try expectError(["train", "--data", "bad-ubyte", "-o", "m.safetensors"], ["bad-ubyte", "magic number 0x12340803"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.safetensors"))
    }

    func testTruncatedIDX() throws {
        _ = write("short-ubyte", idx([10, 28, 28], values: [UInt8](repeating: 7, count: 100)))
        try expectError(["train", "--data", "short-ubyte"], ["short-ubyte", "truncated"])
    }

    func testIDXWhoseSizesOverflowIsRefused() throws {
        // 36 bytes: rank 8, every dimension 2^31 - 1; the product overflows Int (a crash before).
        _ = write("huge-ubyte", idx([Int](repeating: 0x7FFF_FFFF, count: 8), values: []))
        try expectError(["train", "--data", "huge-ubyte", "-o", "m.safetensors"], ["huge-ubyte", "more than the 4294967296 values"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.safetensors"))
    }

    func testTruncatedNPY() throws {
        var npy = NPYArray.encoded(Tensor.zeros([10, 4]))
        npy.removeLast(20)
        _ = write("t.npy", npy)
        try expectError(["train", "--data", "t.npy"], ["t.npy"])
    }

    func testCSVWithNonNumericCell() throws {
        _ = write("t.csv", Data("a,b,c\n1,2,3\n4,x,6\n".utf8))
        try expectError(["train", "--data", "t.csv"], ["t.csv", "row 3", "column 2", "'x' is not a number"])
    }

    func testImageOfWrongSizeInFolder() throws {
        try FileManager.default.createDirectory(atPath: dir + "/imgs", withIntermediateDirectories: true)
        try Image(width: 8, height: 8, channels: 1, pixels: [UInt8](repeating: 9, count: 64)).writePNG(to: dir + "/imgs/a.png")
        try Image(width: 6, height: 8, channels: 1, pixels: [UInt8](repeating: 9, count: 48)).writePNG(to: dir + "/imgs/b.png")
        try expectError(["train", "--data", "imgs"], ["b.png", "6x8"])
    }

    func testDataThatDoesNotFitTheModel() throws {
        let model = try denseModelFile()
        _ = write("small-ubyte", idx([3, 14, 14], values: [UInt8](repeating: 1, count: 3 * 14 * 14)))
        try expectError(["eval", "--model", model, "--data", "small-ubyte"], ["small-ubyte", "[1, 14, 14]", "[1, 28, 28]", "dense"])
    }

    func testUnknownPresetAndLayerType() throws {
        try expectError(["train", "--preset", "densest", "--epochs", "1"], ["unknown preset 'densest'", "dense"])
        _ = write("arch.json", Data(#"{"name": "x", "encoder": [{"type": "flatten"}, {"type": "lineer", "out": 8}], "decoder": [{"type": "linear", "out": 784}]}"#.utf8))
        try expectError(["summary", "--arch", "arch.json"], ["encoder layer 1", "unknown layer type 'lineer'"])
        _ = write("broken.json", Data("{\"name\": ".utf8))
        try expectError(["summary", "--arch", "broken.json"], ["broken.json"])
    }

    func testNaNInData() throws {
        _ = write("nan.csv", Data("a,b\n1,2\n3,nan\n".utf8))
        try expectError(["train", "--data", "nan.csv"], ["nan.csv", "row 3", "column 2", "not a finite number"])
        let t = Tensor.zeros([4, 3])
        t.data[7] = .nan
        _ = write("nan.npy", NPYArray.encoded(t))
        try expectError(["train", "--data", "nan.npy"], ["nan.npy", "NaN"])
    }

    func testModelFileFromAnotherArchitecture() throws {
        // Weights of a 16-unit code under an architecture that says 32.
        let small = try denseModelFile("small.safetensors", code: 16)
        let file = try SafeTensors.read(dir + "/" + small)
        var meta = file.metadata
        meta[ModelFileKey.architecture.rawValue] = try jsonString(try Preset.dense.spec(inputShape: [1, 28, 28], codeSize: 32).withInputShape([1, 28, 28]))
        try SafeTensors(tensors: file.names.map { ($0, file.tensors[$0]!) }, metadata: meta).write(to: dir + "/mixed.safetensors")
        try expectError(["eval", "--model", "mixed.safetensors"], ["mixed.safetensors", "encoder.1.weight", "[16, 784]", "[32, 784]"])
        // A safetensors file that is no Bottleneck model at all.
        try SafeTensors(tensors: [("w", Tensor.zeros([2]))]).write(to: dir + "/plain.safetensors")
        try expectError(["eval", "--model", "plain.safetensors"], ["plain.safetensors", "not a Bottleneck model"])
    }

    func testBadFlagValues() throws {
        try expectError(["train", "--epochs", "0"], ["--epochs"])
        try expectError(["train", "--loss", "hinge"], ["--loss", "hinge"])
        try expectError(["train", "--schedule", "cosine:x"], ["cosine:x"])
        try expectError(["train", "--image-size", "big"], ["--image-size"])
    }

    /// Typed flags: a bad value is refused before anything runs, in one line naming the flag
    /// (range checks are the library's, named by the flag the CLI maps the field to).
    func testTypedFlagsRefuseBadValuesNamingTheFlag() throws {
        try expectError(["train", "--lr", "-1"], ["--lr must be a positive number, got -1"])
        try expectError(["train", "--batch-size", "0"], ["--batch-size must be at least 1, got 0"])
        try expectError(["train", "-b", "0"], ["--batch-size"])
        try expectError(["train", "--optimizer", "rmsprop"], ["--optimizer", "'rmsprop'", "adamw"])
        try expectError(["train", "--momentum", "0.5"], ["--momentum applies to sgd only, not adam"])
        try expectError(["train", "--optimizer", "sgd", "--weight-decay", "-0.1"], ["--weight-decay must be zero or positive"])
        try expectError(["train", "--validation", "1.5"], ["--validation must be in [0, 1)"])
        try expectError(["train", "--scaling", "log"], ["--scaling", "'log'", "standard"])
        try expectError(["train", "--variant", "vea"], ["--variant", "'vea' is not known", "vae"])
        try expectError(["train", "--variant", "vae", "--noise", "gaussian:0.3"], ["--noise is not known for vae"])
        try expectError(["train", "--variant", "sparse", "--sparsity", "kl", "--rate", "2"], ["--rate must be in (0, 1), got 2"])
        try expectError(["train", "--likelihood", "poisson"], ["--likelihood", "'poisson'", "gaussian"])
        try expectError(["train", "--prior", "mixture:1"], ["--prior", "mixture:1"])
        try expectError(["train", "--window", "1"], ["--window must be at least 2"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/model.safetensors"))
    }

    /// Unknown keys in an architecture file are refused naming the file, the layer and the key.
    func testUnknownKeysInArchitectureFileAreRefused() throws {
        _ = write("bais.json", Data(#"{"name": "x", "encoder": [{"type": "flatten"}, {"type": "linear", "out": 8, "bais": false}], "decoder": [{"type": "linear", "out": 784}]}"#.utf8))
        try expectError(["summary", "--arch", "bais.json"], ["bais.json", "encoder layer 1 (linear)", "unknown key 'bais'"])
        _ = write("betta.json", Data(#"{"name": "x", "encoder": [{"type": "flatten"}, {"type": "linear", "out": 8}], "decoder": [{"type": "linear", "out": 784}], "variant": {"kind": "vae", "options": {"betta": 1}}}"#.utf8))
        try expectError(["train", "--arch", "betta.json", "-o", "m.safetensors"], ["betta.json", "variant option 'betta' is not known for vae"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.safetensors"))
    }

    /// --optimizer lbfgs|cg: their own flags, refusals naming the flag and the reason, a full-batch
    /// run that lowers the loss every epoch and resumes, and the line printed when it converges.
    func testLineSearchOptimizersFromTheCommandLine() throws {
        try expectError(["train", "--optimizer", "lbfgs", "--variant", "denoising"],
                        ["--optimizer lbfgs needs a deterministic loss, but denoising draws fresh noise for every batch; use adam, adamw or sgd"])
        try expectError(["train", "--optimizer", "lbfgs", "--schedule", "cosine"], ["--schedule applies to adam, adamw and sgd; lbfgs chooses every step by line search"])
        try expectError(["train", "--optimizer", "cg", "--clip-norm", "1"], ["--clip-norm applies to adam, adamw and sgd; cg chooses"])
        try expectError(["train", "--optimizer", "cg", "--history-size", "5"], ["--history-size applies to lbfgs only, not cg"])
        try expectError(["train", "--gradient-tolerance", "1e-5"], ["--gradient-tolerance applies to lbfgs and cg, not adam"])
        try expectError(["train", "--optimizer", "lbfgs", "--weight-decay", "0.1"], ["--weight-decay applies to adam, adamw and sgd, not lbfgs"])
        try expectError(["train", "--optimizer", "lbfgs", "--history-size", "0"], ["--history-size must be in 1...1000, got 0"])
        try expectError(["train", "--optimizer", "cg", "--step-tolerance", "-1"], ["--step-tolerance must be zero or positive"])

        var rows = "f0,f1,f2,f3\n"
        let rng = RandomGenerator(seed: 2)
        for _ in 0..<200 { let a = rng.normal(), b = rng.normal(); rows += "\(a),\(b),\(a + b),\(a - b)\n" }
        _ = write("t.csv", Data(rows.utf8))
        let common = ["train", "--data", "t.csv", "--preset", "dense", "--code-size", "2", "--batch-size", "200", "-o", "t.safetensors"]
        let r = try run(common + ["--optimizer", "lbfgs", "--history-size", "5", "--epochs", "8"])
        XCTAssertEqual(r.status, 0, r.err)
        let resumed = try run(common + ["--epochs", "12", "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        let log = try String(contentsOfFile: dir + "/t.safetensors.log.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(EpochRecord.self, from: Data($0.utf8)) }
        XCTAssertEqual(log.map(\.epoch), Array(1...12))
        XCTAssertTrue(log.allSatisfy { ($0.evaluations ?? 0) >= 1 && $0.learningRate == 1 }, "evaluations logged, first trial step 1")
        XCTAssertTrue(zip(log, log.dropFirst()).allSatisfy { $1.trainLoss < $0.trainLoss }, "\(log.map(\.trainLoss))")
        let model = try TrainedModel.load(dir + "/t.safetensors")
        XCTAssertEqual(model.training?.optimizer, .lbfgs(memory: 5), "the optimizer is stored with the model")
        // eval --objective gives the training objective of the saved (last, best) epoch.
        let e = try run(["eval", "--model", "t.safetensors", "--data", "t.csv", "--objective", "--json"])
        XCTAssertEqual(e.status, 0, e.err)
        let objective = try XCTUnwrap(try JSONDecoder().decode(ReconstructionMetrics.self, from: Data(e.out.utf8)).objective)
        XCTAssertEqual(objective, log.last!.trainLoss, accuracy: 1e-6 * log.last!.trainLoss)
        try expectError(["eval", "--model", "t.safetensors", "--split", "validation"], ["--split", "'validation'"])

        let converged = try run(common + ["--optimizer", "cg", "--gradient-tolerance", "10", "--epochs", "5", "-o", "c.safetensors"])
        XCTAssertEqual(converged.status, 0, converged.err)
        XCTAssertTrue(converged.out.contains("cg converged: the largest gradient entry is"), converged.out)
        XCTAssertEqual(try String(contentsOfFile: dir + "/c.safetensors.log.jsonl", encoding: .utf8).split(separator: "\n").count, 1)
    }

    /// Training on a small CSV works end to end: model, checkpoint and log written, eval reads it back.
    func testTrainEvalEncodeOnCSV() throws {
        var rows = "f0,f1,f2,f3,label\n"
        let rng = RandomGenerator(seed: 1)
        for i in 0..<200 { let a = rng.normal(), b = rng.normal(); rows += "\(a),\(b),\(a + b),\(a - b),\(i % 2)\n" }
        _ = write("t.csv", Data(rows.utf8))
        let r = try run(["train", "--data", "t.csv", "--label-column", "label", "--preset", "dense", "--code-size", "2",
                         "--epochs", "3", "--batch-size", "32", "--scaling", "standard", "-o", "t.safetensors"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("epoch 3"), r.out)
        for f in ["t.safetensors", "t.checkpoint.safetensors", "t.safetensors.log.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + f), f)
        }
        let e = try run(["eval", "--model", "t.safetensors", "--data", "t.csv", "--label-column", "label", "--json"])
        XCTAssertEqual(e.status, 0, e.err)
        let metrics = try JSONDecoder().decode(ReconstructionMetrics.self, from: Data(e.out.utf8))
        XCTAssertEqual(metrics.samples, 200)
        let c = try run(["encode", "--model", "t.safetensors", "--data", "t.csv", "--label-column", "label", "-o", "codes.csv"])
        XCTAssertEqual(c.status, 0, c.err)
        let codes = try String(contentsOfFile: dir + "/codes.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(codes.first, "label,z0,z1")
        XCTAssertEqual(codes.count, 201)
    }

    /// --linear-code drops the preset's ReLU on the code: codes take negative values, which a ReLU
    /// code never has; with --arch the flag is refused (the file says what the code is).
    func testLinearCodeFlag() throws {
        var rows = "f0,f1,f2,f3\n"
        let rng = RandomGenerator(seed: 2)
        for _ in 0..<200 { let a = rng.normal(), b = rng.normal(); rows += "\(a),\(b),\(a + b),\(a - b)\n" }
        _ = write("lin.csv", Data(rows.utf8))
        func minimumCode(_ extra: [String]) throws -> Float {
            let r = try run(["train", "--data", "lin.csv", "--preset", "dense", "--code-size", "3", "--epochs", "2", "--scaling", "standard",
                             "-o", "lin.safetensors"] + extra)
            XCTAssertEqual(r.status, 0, r.err)
            let c = try run(["encode", "--model", "lin.safetensors", "--data", "lin.csv", "-o", "lin-codes.csv"])
            XCTAssertEqual(c.status, 0, c.err)
            let values = try String(contentsOfFile: dir + "/lin-codes.csv", encoding: .utf8).split(separator: "\n").dropFirst()
                .flatMap { $0.split(separator: ",").compactMap { Float($0) } }
            XCTAssertEqual(values.count, 600)
            return values.min()!
        }
        XCTAssertEqual(try minimumCode([]), 0, "a ReLU code is never negative")
        XCTAssertLessThan(try minimumCode(["--linear-code"]), 0)
        XCTAssertEqual(try Preset.conv.spec(inputShape: [1, 28, 28]).withLinearCode().encoder.last?.type, "linear")
        _ = write("a.json", Data(#"{"name": "x", "encoder": [{"type": "flatten"}, {"type": "linear", "out": 8}], "decoder": [{"type": "linear", "out": 4}]}"#.utf8))
        try expectError(["train", "--data", "lin.csv", "--arch", "a.json", "--linear-code"], ["--linear-code", "a.json"])
    }
}

extension ArchitectureSpec {
    func withInputShape(_ s: [Int]) -> ArchitectureSpec { var c = self; c.inputShape = s; return c }
}
