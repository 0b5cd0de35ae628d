import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// The benchmark's bookkeeping: FLOP counts, reading either side's JSON lines, ratio of medians,
/// and the comparison running without the reference installed.
final class BenchmarkTests: XCTestCase {
    func testForwardFLOPsCountMatrixWork() throws {
        let dense = try Autoencoder(spec: try BenchmarkWorkload.dense.spec(), inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0))
        XCTAssertEqual(try forwardFLOPs(dense), 2 * (784 * 32 + 32 * 784))
        // conv_seed: two stride-2 convs, two linears, two transposed convs.
        let conv = try Autoencoder(spec: try BenchmarkWorkload.convSeed.spec(), inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0))
        let convs: Double = 2 * (9 * 16 * 196) + 2 * (16 * 9 * 32 * 49)
        let expected: Double = 2 * (convs + 2 * 1568 * 128)
        XCTAssertEqual(try forwardFLOPs(conv), expected)
    }

    func testReadsBothSidesJSONAndTakesRatioOfMedians() throws {
        let ours = #"{"workload":"dense","train_samples_per_s":200000.5,"peak_rss_mb":450,"test_mse":0.0292,"ceiling_fraction":0.3}"#
        let torch = "warming up\n{\"workload\": \"dense\", \"train_samples_per_s\": 100000, \"peak_rss_mb\": 531.2}\n"
        let infer = #"{"workload":"infer_conv_seed","infer_samples_per_s":27000,"peak_rss_mb":400}"#
        XCTAssertEqual(BenchmarkComparison.Run(jsonLines: ours)?.samplesPerS, 200000.5)
        XCTAssertEqual(BenchmarkComparison.Run(jsonLines: ours)?.testMSE, 0.0292)
        XCTAssertEqual(BenchmarkComparison.Run(jsonLines: torch)?.peakRSSMB, 531.2)
        XCTAssertEqual(BenchmarkComparison.Run(jsonLines: infer)?.samplesPerS, 27000)
        XCTAssertNil(BenchmarkComparison.Run(jsonLines: "no json here\n{\"workload\": \"x\"}"))

        let runs = { (speeds: [Double]) in speeds.map { BenchmarkComparison.Run(samplesPerS: $0, peakRSSMB: 1) } }
        var row = BenchmarkComparison.Row(workload: "dense", maxBatches: nil, ours: runs([3, 100, 5]), reference: runs([2, 2.5, 50, 1]))
        XCTAssertEqual(row.oursMedian, 5)
        XCTAssertEqual(row.referenceMedian, 2.25)
        XCTAssertEqual(row.ratio!, 5 / 2.25, accuracy: 1e-12)
        row.reference = []
        XCTAssertNil(row.ratio)
        XCTAssertTrue(BenchmarkComparison(date: "d", machine: "m", rows: [row]).table.contains("dense"))
    }

    /// Without the reference script or torch, `compare` explains how to install it and still
    /// measures ours (a short run of the dense workload).
    func testCompareWithoutReferenceStillMeasuresOurs() throws {
        let dir = NSTemporaryDirectory() + "bn-compare-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runCLI(["compare", "--workloads", "dense:100", "--rounds", "1", "--json", "c.json"], in: dir)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("pip install torch"), r.err)
        let summary = try JSONDecoder().decode(BenchmarkComparison.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/c.json")))
        XCTAssertEqual(summary.rows.map(\.workload), ["dense"])
        XCTAssertEqual(summary.rows[0].ours.count, 1)
        XCTAssertGreaterThan(summary.rows[0].ours[0].samplesPerS, 1000)
        XCTAssertLessThan(summary.rows[0].ours[0].testMSE ?? 1, 0.0866, "100 batches of training beat the mean image (MSE 0.0866)")
        XCTAssertNil(summary.rows[0].ratio)
        // The run measured the machine's ceiling and said which backend ran the products.
        let run = summary.rows[0].ours[0]
        XCTAssertGreaterThan(run.ceilingGFLOPs ?? 0, 1)
        XCTAssertTrue(GEMMBackend.allCases.map(\.rawValue).contains(run.gemmBackend ?? ""))
        XCTAssertGreaterThan(run.ceilingFraction ?? 0, 0)
        XCTAssertLessThan(run.ceilingFraction ?? 2, 1, "a workload runs below the 1024³ ceiling")
        XCTAssertTrue(r.out.contains("ceiling") && r.out.contains("GFLOP/s") && r.out.contains("GEMM on"), r.out)
        try expectCLIError(["compare", "--workloads", "dense:x"], in: dir, ["--workloads", "dense:x"])
    }
}
