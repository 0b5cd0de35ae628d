import Foundation
import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// Where the copied PyTorch fixtures live (inside the project, so a clone needs nothing else).
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures")

/// A PyTorch parity case: its tensors and its parsed `config` metadata.
struct ParityCase {
    let tensors: SafeTensors
    let config: [String: Any]
    subscript(_ name: String) -> Tensor { tensors[name]! }

    init(_ file: String) throws {
        tensors = try SafeTensors.read(fixturesDirectory.appendingPathComponent("torch-parity/\(file)").path)
        let json = tensors.metadata["config"] ?? "{}"
        config = (try JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
    }

    func int(_ key: String) -> Int { (config[key] as? NSNumber)?.intValue ?? 0 }
    func float(_ key: String) -> Float { (config[key] as? NSNumber)?.floatValue ?? 0 }
}

/// Asserts |a-b| <= tol * max(1, |b|) elementwise, and equal shapes.
func assertClose(_ a: Tensor, _ b: Tensor, tol: Float = 1e-4, _ what: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "\(what): shape", file: file, line: line)
    guard a.count == b.count else { return }
    var worst: Float = 0, at = 0
    for i in 0..<a.count {
        let e = Swift.abs(a.data[i] - b.data[i]) / Swift.max(1, Swift.abs(b.data[i]))
        if !(e <= worst) { worst = e; at = i }
    }
    XCTAssertLessThanOrEqual(worst, tol, "\(what): worst relative error at \(at): \(a.data[at]) vs \(b.data[at])", file: file, line: line)
}

/// Finite-difference gradient check. `f` maps the inputs to a tensor; the checked scalar is
/// sum(f(x) * w) for a fixed random w, so every output element matters. Central differences,
/// accumulated in Double, against the analytic gradient of every input that requires one.
func gradCheck(_ inputs: [Tensor], step: Float = 1e-2, tol: Double = 2e-2, seed: UInt64 = 7,
               file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor) {
    precondition(inputs.allSatisfy(\.isLeaf), "gradCheck needs leaf inputs (use detached())")
    for x in inputs { x.requiresGrad = true; x.zeroGrad() }
    let probe = f(inputs)
    let w = Tensor.normal(probe.shape, rng: RandomGenerator(seed: seed))
    func objective() -> Double {
        let y = withoutGradients { f(inputs) }
        var acc: Double = 0
        for i in 0..<y.count { acc += Double(y.data[i]) * Double(w.data[i]) }
        return acc
    }
    (probe * w).sum().backward()
    for (k, x) in inputs.enumerated() {
        let analytic = x.gradient
        var worst: Double = 0, worstAt = 0, worstPair = (0.0, 0.0)
        for i in 0..<x.count {
            let keep = x.data[i]
            x.data[i] = keep + step
            let up = objective()
            x.data[i] = keep - step
            let down = objective()
            x.data[i] = keep
            let numeric = (up - down) / (2 * Double(step))
            let a = Double(analytic.data[i])
            let err = Swift.abs(a - numeric) / Swift.max(1, Swift.abs(numeric))
            if err > worst { worst = err; worstAt = i; worstPair = (a, numeric) }
        }
        XCTAssertLessThanOrEqual(worst, tol, "input \(k) \(x.shape): gradient at \(worstAt) analytic \(worstPair.0) vs numeric \(worstPair.1)", file: file, line: line)
    }
}

/// A tensor of normal values (mean 0, std 1) from a fixed seed.
func randn(_ shape: [Int], seed: UInt64 = 1) -> Tensor { .normal(shape, rng: RandomGenerator(seed: seed)) }

/// Values well away from 0 (for ops with a kink there: relu, abs, max).
func awayFromZero(_ shape: [Int], seed: UInt64 = 1) -> Tensor {
    let t = randn(shape, seed: seed)
    for i in 0..<t.count { t.data[i] = t.data[i] >= 0 ? t.data[i] + 0.1 : t.data[i] - 0.1 }
    return t
}

let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

/// A test case with a fresh folder, `dir`, for each test, removed after it.
class TemporaryDirectoryTestCase: XCTestCase {
    var dir: String!
    /// The folder's name before its UUID (names a leftover folder's test class).
    var directoryPrefix: String { "bn-test" }

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "\(directoryPrefix)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }
}

/// The built `bottleneck` executable: beside the test bundle, or the release build.
var bottleneckExecutable: URL {
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("bottleneck")
    let built = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/release/bottleneck")
    return FileManager.default.fileExists(atPath: beside.path) ? beside : built
}

/// Runs the built `bottleneck` executable in `directory`.
func runCLI(_ args: [String], in directory: String, environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = bottleneckExecutable
    p.arguments = args
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    p.currentDirectoryURL = URL(fileURLWithPath: directory)
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Asserts a failing CLI run: non-zero exit, no crash, one error line containing every fragment.
func expectCLIError(_ args: [String], in directory: String, _ fragments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
    let r = try runCLI(args, in: directory)
    XCTAssertNotEqual(r.status, 0, "exit status of \(args)", file: file, line: line)
    XCTAssertLessThan(r.status, 64, "a clean exit, not a crash (\(r.status))", file: file, line: line)
    let lines = r.err.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    XCTAssertEqual(lines.count, 1, "one error line, got: \(r.err)", file: file, line: line)
    for f in fragments { XCTAssertTrue(r.err.contains(f), "'\(f)' not in: \(r.err)", file: file, line: line) }
    XCTAssertFalse(r.err.contains("Fatal error") || r.err.contains("Stack dump"), file: file, line: line)
}
