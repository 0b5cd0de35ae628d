import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// Every input with which a fuzz harness once crashed a reader (Tests/Fixtures/fuzz/regressions/
/// HARNESS/) goes through that reader again, as its harness calls it: each must now be refused
/// with a one-line error (or read), never trap or allocate past the harness's limits.
final class FuzzRegressionTests: XCTestCase {
    static let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz/regressions")

    /// The reader each harness exercises (as in Fuzz/Sources/bottleneck-fuzz).
    static let readers: [String: (Data) throws -> Void] = [
        "idx": { _ = try IDXArray.decode($0, source: "regression") },
        "idx-gz": { _ = try IDXArray.decode($0, source: "regression") },
        "npy": { _ = try NPYArray.decode($0, source: "regression") },
        "csv": { _ = try CSV.parse($0, source: "regression", label: .index(0)) },
        "image": { _ = try Image.decode($0, source: "regression") },
        "safetensors": { _ = try SafeTensors.decode($0, source: "regression") },
        "model": { _ = try TrainedModel.decode($0, source: "regression", memoryLimit: ByteCount(256 << 20)) },
        "architecture": { data in
            let spec = try decodeJSON(ArchitectureSpec.self, String(decoding: data, as: UTF8.self), source: "regression")
            _ = try Autoencoder(spec: spec, inputShape: spec.inputShape ?? [1, 28, 28], rng: RandomGenerator(seed: 0), memoryLimit: ByteCount(256 << 20))
        },
        "bnz": { data in let f = try CompressedCodes.decode(data, source: "regression"); _ = try f.codes() },
        "search-index": { _ = try SearchIndex.decode($0, source: "regression") },
    ]

    func testEveryCommittedCrashIsNowAOneLineError() throws {
        let harnesses = try FileManager.default.contentsOfDirectory(atPath: Self.regressions.path).sorted()
        XCTAssertFalse(harnesses.isEmpty, "regression inputs are committed")
        var replayed = 0
        for harness in harnesses {
            let read = try XCTUnwrap(Self.readers[harness], "no reader for regressions/\(harness)")
            for name in try FileManager.default.contentsOfDirectory(atPath: Self.regressions.appendingPathComponent(harness).path).sorted() {
                let data = try Data(contentsOf: Self.regressions.appendingPathComponent(harness).appendingPathComponent(name))
                do { try read(data) } catch let e as BottleneckError {
                    XCTAssertFalse(e.message.contains("\n"), "\(harness)/\(name): \(e.message)")
                } catch {
                    XCTFail("\(harness)/\(name): not a BottleneckError: \(error)")
                }
                replayed += 1
            }
        }
        XCTAssertGreaterThanOrEqual(replayed, 3)
    }
}
