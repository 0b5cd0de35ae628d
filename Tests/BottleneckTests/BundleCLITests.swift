import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// `train --resume`, output checks and column checks as a user meets them: one line naming the
/// flag or file, nothing trained or overwritten.
final class BundleCLITests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-bundle-cli" }

    @discardableResult
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) { try runCLI(args, in: dir) }

    /// A 4-column table; `order` permutes or renames the header.
    func writeTable(_ name: String, header: [String] = ["f0", "f1", "f2", "f3"]) {
        var rows = header.joined(separator: ",") + "\n"
        let rng = RandomGenerator(seed: 1)
        for _ in 0..<120 { let a = rng.normal(), b = rng.normal(); rows += "\(a),\(b),\(a + b),\(a - b)\n" }
        _ = FileManager.default.createFile(atPath: dir + "/" + name, contents: Data(rows.utf8))
    }

    func train(_ extra: [String]) throws -> (status: Int32, out: String, err: String) {
        try run(["train", "--data", "t.csv", "--preset", "dense", "--code-size", "2", "--batch-size", "32", "--scaling", "standard",
                 "-o", "t.safetensors"] + extra)
    }

    func logLines() throws -> [[String: Any]] {
        try String(contentsOfFile: dir + "/t.safetensors.log.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func testResumeHonoursOrRefusesChangedFlags() throws {
        writeTable("t.csv")
        let first = try train(["--epochs", "1"])
        XCTAssertEqual(first.status, 0, first.err)
        let model = try Data(contentsOf: URL(fileURLWithPath: dir + "/t.safetensors"))

        // The reproduction: --lr is honoured, -b 7 is not silently dropped but refused.
        try expectCLIError(["train", "--resume", "-o", "t.safetensors", "--data", "t.csv", "--epochs", "2", "--lr", "0.5", "-b", "7"], in: dir,
                           ["--batch-size is 32 in the checkpoint", "t.checkpoint.safetensors, 7 was asked for"])
        try expectCLIError(["train", "--resume", "-o", "t.safetensors", "--data", "t.csv", "--epochs", "2", "--scaling", "unit"], in: dir,
                           ["--scaling is standard in the checkpoint", "unit was asked for"])
        try expectCLIError(["train", "--resume", "-o", "t.safetensors", "--data", "t.csv", "--epochs", "2", "--code-size", "3"], in: dir,
                           ["the architecture (--preset, --arch, --code-size, --linear-code) is 'dense' in the checkpoint"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/t.safetensors")), model, "a refused resume changes nothing")
        XCTAssertEqual(try logLines().count, 1)

        let resumed = try run(["train", "--resume", "-o", "t.safetensors", "--data", "t.csv", "--epochs", "2", "--lr", "0.0005"])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertTrue(resumed.out.contains("resuming after epoch 1"), resumed.out)
        let log = try logLines()
        XCTAssertEqual(log.map { ($0["epoch"] as? NSNumber)?.intValue }, [1, 2])
        XCTAssertEqual((log[1]["learningRate"] as? NSNumber)?.floatValue, 0.0005, "the new learning rate is used")
        XCTAssertEqual(try TrainedModel.load(dir + "/t.safetensors").training?.batchSize, 32, "the checkpoint's batch size, not the default")
    }

    func testFreshTrainReplacesTheOldLog() throws {
        writeTable("t.csv")
        XCTAssertEqual(try train(["--epochs", "2"]).status, 0)
        XCTAssertEqual(try train(["--epochs", "1"]).status, 0)
        XCTAssertEqual(try logLines().count, 1, "a fresh run does not append to the old log")
    }

    func testUnwritableOutputRefusedBeforeTraining() throws {
        writeTable("t.csv")
        _ = FileManager.default.createFile(atPath: dir + "/file", contents: Data())
        try expectCLIError(["train", "--data", "t.csv", "--epochs", "1", "-o", "/proc/t.safetensors"], in: dir,
                           ["/proc/t.safetensors", "its folder /proc cannot be written"])
        try expectCLIError(["train", "--data", "t.csv", "--epochs", "1", "-o", "file/t.safetensors"], in: dir,
                           ["file/t.safetensors", "is a file, not a folder"])
    }

    func testColumnsReorderedOrRenamedAreRefused() throws {
        writeTable("t.csv")
        XCTAssertEqual(try train(["--epochs", "1"]).status, 0)
        writeTable("reordered.csv", header: ["f1", "f0", "f2", "f3"])
        writeTable("renamed.csv", header: ["f0", "f1", "f2", "x3"])
        writeTable("same.csv")
        XCTAssertEqual(try run(["eval", "--model", "t.safetensors", "--data", "same.csv"]).status, 0)
        for command in ["eval", "detect", "encode"] {
            try expectCLIError([command, "--model", "t.safetensors", "--data", "reordered.csv"], in: dir,
                               ["reordered.csv", "column 1 is 'f1' where the model has 'f0'", "another order"])
            try expectCLIError([command, "--model", "t.safetensors", "--data", "renamed.csv"], in: dir,
                               ["renamed.csv", "missing f3", "not in the model: x3"])
        }
    }

    /// Two CLI runs on one output: the second fails at once while the first trains.
    func testConcurrentTrainOnOneOutputIsRefused() throws {
        writeTable("t.csv")
        let holder = try holdLock(dir + "/t.safetensors.lock")
        defer { holder.terminate(); holder.waitUntilExit() }
        let start = Date()
        try expectCLIError(["train", "--data", "t.csv", "--epochs", "1", "-o", "t.safetensors"], in: dir,
                           ["t.safetensors", "another training run"])
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "fails at once, does not wait")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/t.safetensors"))
    }
}
