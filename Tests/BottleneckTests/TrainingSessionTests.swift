import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// The session's policy: resume overrides honoured or refused (never ignored), one run per
/// output, unwritable outputs refused before training, a fresh log for a fresh run, scaling
/// fitted on the training part, classes kept across a resume.
final class TrainingSessionTests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-session" }

    static let images = TrainingTests.slice.subset(Array(0..<200))

    func baseConfig(epochs: Int = 1) -> TrainingConfig {
        var c = TrainingConfig()
        c.epochs = epochs
        c.batchSize = 50
        c.seed = 5
        c.validationFraction = 0.2
        return c
    }

    func request(_ name: String = "m.safetensors", config: TrainingConfig? = nil, preset: Preset = .dense, resume: Bool = false,
                 overrides: Set<ConfigField> = [.epochs]) throws -> TrainingRequest {
        var r = TrainingRequest(outputPath: dir + "/" + name, architecture: try preset.spec(inputShape: [1, 28, 28], codeSize: 8),
                                config: config ?? baseConfig())
        r.resume = resume
        r.overrides = overrides
        return r
    }

    /// A one-epoch run to resume from.
    func trainedOnce() throws {
        try TrainingSession(try request(), data: Self.images).run()
    }

    func testResumeHonoursMoreEpochsAndANewLearningRate() throws {
        try trainedOnce()
        var config = baseConfig(epochs: 2)
        config.learningRate = 5e-4
        config.clipNorm = 1
        let s = try TrainingSession(try request(config: config, resume: true, overrides: [.epochs, .learningRate, .clipNorm]), data: Self.images)
        XCTAssertEqual(s.trainer.epochsDone, 1)
        XCTAssertEqual(s.trainer.config.learningRate, 5e-4)
        XCTAssertEqual(s.trainer.config.clipNorm, 1)
        XCTAssertEqual(s.trainer.optimizer.learningRate, 5e-4, "the restored rate gives way to the new one")
        try s.run()
        XCTAssertEqual(s.trainer.history.map(\.learningRate), [1e-3, 5e-4])
        XCTAssertEqual(try TrainedModel.load(dir + "/m.safetensors").training?.learningRate, 5e-4)
    }

    func testResumeRefusesChangesThatWouldMakeAnotherRunNamingBothValues() throws {
        try trainedOnce()
        var changed: [(ConfigField, (inout TrainingConfig) -> Void, String, String)] = [
            (.batchSize, { $0.batchSize = 7 }, "50", "7"),
            (.seed, { $0.seed = 9 }, "5", "9"),
            (.optimizer, { $0.optimizer = .sgd() }, "adam(weightDecay: 0.0)", "sgd(momentum: 0.9, nesterov: false, weightDecay: 0.0)"),
            (.loss, { $0.loss = .l1 }, "mse", "l1"),
            (.validationFraction, { $0.validationFraction = 0.5 }, "0.2", "0.5"),
        ]
        changed.append((.weightDecay, { $0.optimizer = .adam(weightDecay: 0.1) }, "adam(weightDecay: 0.0)", "adam(weightDecay: 0.1)"))
        for (setting, change, saved, asked) in changed {
            var config = baseConfig(epochs: 2)
            change(&config)
            XCTAssertThrowsError(try TrainingSession(try request(config: config, resume: true, overrides: [.epochs, setting]), data: Self.images)) { e in
                guard let conflict = e as? BottleneckError else { return XCTFail("\(setting): \(e)") }
                XCTAssertEqual(conflict.field, setting)
                let message = conflict.message(naming: { _ in "--flag" })
                XCTAssertTrue(message.hasPrefix("--flag is \(saved) in the checkpoint \(self.dir!)/m.checkpoint.safetensors, \(asked) was asked for"), message)
            }
        }
        // Given but equal to the checkpoint's: no conflict.
        XCTAssertNoThrow(try TrainingSession(try request(config: baseConfig(epochs: 2), resume: true, overrides: [.epochs, .batchSize, .seed]),
                                             data: Self.images))
    }

    func testResumeRefusesAnotherArchitectureScalingOrClasses() throws {
        try trainedOnce()
        XCTAssertThrowsError(try TrainingSession(try request(config: baseConfig(epochs: 2), preset: .deepDense, resume: true), data: Self.images)) { e in
            XCTAssertEqual((e as? BottleneckError)?.field, .architecture, "\(e)")
        }
        var denoising = try request(config: baseConfig(epochs: 2), resume: true)
        denoising.architecture!.variant = try VariantSpec(kind: "denoising")
        XCTAssertThrowsError(try TrainingSession(denoising, data: Self.images)) { e in
            XCTAssertEqual((e as? BottleneckError)?.field, .variant, "\(e)")
        }
        var scaling = try request(config: baseConfig(epochs: 2), resume: true)
        scaling.scaling = .standard
        XCTAssertThrowsError(try TrainingSession(scaling, data: Self.images)) { e in
            XCTAssertEqual((e as? BottleneckError)?.field, .scaling, "\(e)")
        }
        var classes = try request(config: baseConfig(epochs: 2), resume: true)
        classes.classes = [1]
        XCTAssertThrowsError(try TrainingSession(classes, data: Self.images)) { e in
            XCTAssertEqual((e as? BottleneckError)?.field, .classes, "\(e)")
        }
        XCTAssertThrowsError(try TrainingSession(try request(config: baseConfig(epochs: 1), resume: true), data: Self.images)) { e in
            XCTAssertTrue("\(e)".contains("1 epochs done already"), "\(e)")
        }
    }

    /// Settings not given on resume are the checkpoint's, whatever the request's config holds.
    func testResumeTakesUngivenSettingsFromTheCheckpoint() throws {
        try trainedOnce()
        var other = baseConfig(epochs: 3)
        other.batchSize = 999
        other.seed = 1234
        other.learningRate = 0.5
        let s = try TrainingSession(try request(config: other, resume: true, overrides: [.epochs]), data: Self.images)
        var expected = baseConfig(epochs: 3)
        expected.epochs = 3
        XCTAssertEqual(s.trainer.config, expected)
    }

    func testFreshRunStartsAFreshLog() throws {
        let log = dir + "/m.safetensors.log.jsonl"
        try "{\"epoch\":1,\"old\":true}\n{\"epoch\":2,\"old\":true}\n".write(toFile: log, atomically: true, encoding: .utf8)
        try TrainingSession(try request(config: baseConfig(epochs: 2)), data: Self.images).run()
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertFalse(lines.contains { $0.contains("old") }, "\(lines)")
        // A resumed run continues the same log.
        var config = baseConfig(epochs: 3)
        config.epochs = 3
        try TrainingSession(try request(config: config, resume: true), data: Self.images).run()
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count, 3)
    }

    func testSecondRunOnTheSameOutputIsRefusedAtOnce() throws {
        let first = try TrainingSession(try request(), data: Self.images)
        XCTAssertThrowsError(try TrainingSession(try request(), data: Self.images)) { e in
            XCTAssertTrue("\(e)".contains("m.safetensors") && "\(e)".contains("another training run"), "\(e)")
        }
        XCTAssertNoThrow(try TrainingSession(try request("other.safetensors"), data: Self.images), "another output is free")
        try first.run()
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.safetensors.lock"), "released after the run")
        XCTAssertNoThrow(try TrainingSession(try request(), data: Self.images))
    }

    /// The lock is the kernel's: a lock held by another process refuses the run too.
    func testLockHeldByAnotherProcessRefusesTheRun() throws {
        let holder = try holdLock(dir + "/m.safetensors.lock")
        defer { holder.terminate(); holder.waitUntilExit() }
        XCTAssertThrowsError(try TrainingSession(try request(), data: Self.images)) { e in
            XCTAssertTrue("\(e)".contains("another training run"), "\(e)")
        }
    }

    /// Refused before any epoch, for root too: a folder no file can be created in (/proc), and
    /// a "folder" that is a regular file.
    func testUnwritableOutputFolderIsRefusedBeforeTraining() throws {
        var proc = try request()
        proc.outputPath = "/proc/m.safetensors"
        XCTAssertThrowsError(try TrainingSession(proc, data: Self.images)) { e in
            XCTAssertTrue("\(e)".hasPrefix("/proc/m.safetensors: its folder /proc cannot be written"), "\(e)")
        }
        _ = FileManager.default.createFile(atPath: dir + "/plain-file", contents: Data("x".utf8))
        var underFile = try request()
        underFile.outputPath = dir + "/plain-file/m.safetensors"
        XCTAssertThrowsError(try TrainingSession(underFile, data: Self.images)) { e in
            XCTAssertTrue("\(e)".contains("plain-file is a file, not a folder"), "\(e)")
        }
        var log = try request()
        log.logPath = "/proc/m.log.jsonl"
        XCTAssertThrowsError(try TrainingSession(log, data: Self.images)) { e in
            XCTAssertTrue("\(e)".contains("/proc cannot be written"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.safetensors.lock"), "nothing left behind")
    }

    func testScalingIsFittedOnTheTrainingPartOnly() throws {
        let x = Tensor.normal([100, 4], rng: RandomGenerator(seed: 2))
        let table = Dataset(inputs: x, source: "t.csv", featureNames: ["a", "b", "c", "d"])
        var r = TrainingRequest(outputPath: dir + "/t.safetensors", architecture: try Preset.dense.spec(inputShape: [4], codeSize: 2),
                                config: baseConfig())
        r.config.validationFraction = 0.5
        r.scaling = .unit
        let s = try TrainingSession(r, data: table)
        let train = s.train.inputs.scalars, validation = s.validation!.inputs.scalars
        for f in 0..<4 {
            let column = stride(from: f, to: train.count, by: 4).map { train[$0] }
            XCTAssertEqual(column.min(), 0, "feature \(f)")
            XCTAssertEqual(column.max(), 1, "feature \(f)")
        }
        XCTAssertTrue(validation.contains { $0 < 0 || $0 > 1 }, "held-out values fall outside the training range")
        XCTAssertEqual(s.bundle.featureNames, ["a", "b", "c", "d"])
    }

    func testClassRestrictionIsKeptOnResumeAndDataMustBeFinite() throws {
        var r = try request()
        r.classes = [1, 7]
        try TrainingSession(r, data: Self.images).run()
        let expected = Self.images.labels!.filter { [1, 7].contains($0) }.count
        XCTAssertEqual(try TrainedModel.load(dir + "/m.safetensors").classes, [1, 7])
        let resumed = try TrainingSession(try request(config: baseConfig(epochs: 2), resume: true), data: Self.images)
        XCTAssertEqual(resumed.train.count + resumed.validation!.count, expected, "the checkpoint's classes, without asking again")

        let bad = Self.images.subset(Array(0..<10))
        bad.inputs.data[5] = .nan
        XCTAssertThrowsError(try TrainingSession(try request("nan.safetensors"), data: bad)) { e in XCTAssertTrue("\(e)".contains("NaN"), "\(e)") }
    }
}

/// Another process (util-linux flock) holding an exclusive flock on `path`; returns once it holds it.
func holdLock(_ path: String) throws -> Process {
    _ = FileManager.default.createFile(atPath: path, contents: nil)
    let holder = Process()
    holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
    holder.arguments = ["--exclusive", "--no-fork", path, "sleep", "30"]  // no fork: terminate() ends the holder
    try holder.run()
    let probe = open(path, O_RDWR)
    defer { close(probe) }
    for _ in 0..<500 where flock(probe, LOCK_EX | LOCK_NB) == 0 { flock(probe, LOCK_UN); usleep(10_000) }
    return holder
}
