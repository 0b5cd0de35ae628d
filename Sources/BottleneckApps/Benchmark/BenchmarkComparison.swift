import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// Ours against the PyTorch reference, run alternately in one sitting: per workload the runs of
/// each side, their medians and the ratio of the medians (ours / reference). The ratio of medians
/// survives the noise of a shared machine better than any single pair of runs.
public struct BenchmarkComparison: Codable {
    /// One benchmark process's figures, read from the JSON line it printed (ours or torch_bench.py's).
    public struct Run: Codable, Equatable {
        /// Training samples/s, or inference samples/s for an inference workload.
        public var samplesPerS: Double
        public var peakRSSMB: Double
        public var testMSE: Double?
        public var ceilingFraction: Double?
        /// Ours only: the ceiling the run measured (GFLOP/s, 1024³) and the GEMM backend it ran on.
        public var ceilingGFLOPs: Double?
        public var gemmBackend: String?

        public init(samplesPerS: Double, peakRSSMB: Double, testMSE: Double? = nil, ceilingFraction: Double? = nil,
                    ceilingGFLOPs: Double? = nil, gemmBackend: String? = nil) {
            self.samplesPerS = samplesPerS
            self.peakRSSMB = peakRSSMB
            self.testMSE = testMSE
            self.ceilingFraction = ceilingFraction
            self.ceilingGFLOPs = ceilingGFLOPs
            self.gemmBackend = gemmBackend
        }

        /// The last line of `output` that is a JSON object with a throughput; nil if there is none.
        public init?(jsonLines output: String) {
            for line in output.split(separator: "\n").reversed() where line.hasPrefix("{") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { continue }
                let number = { (key: String) in (object[key] as? NSNumber)?.doubleValue }
                guard let speed = number("train_samples_per_s") ?? number("infer_samples_per_s") else { continue }
                let machine = object["machine"] as? [String: Any]
                self.init(samplesPerS: speed, peakRSSMB: number("peak_rss_mb") ?? 0, testMSE: number("test_mse"),
                          ceilingFraction: number("ceiling_fraction"),
                          ceilingGFLOPs: (machine?["ceiling_gflops"] as? NSNumber)?.doubleValue,
                          gemmBackend: machine?["gemm_backend"] as? String)
                return
            }
            return nil
        }
    }

    public struct Row: Codable {
        public var workload: String
        public var maxBatches: Int?
        public var ours: [Run]
        public var reference: [Run]

        public init(workload: String, maxBatches: Int?, ours: [Run] = [], reference: [Run] = []) {
            self.workload = workload
            self.maxBatches = maxBatches
            self.ours = ours
            self.reference = reference
        }

        public var oursMedian: Double? { median(ours.map(\.samplesPerS)) }
        public var referenceMedian: Double? { median(reference.map(\.samplesPerS)) }
        /// Ours / reference, of the medians; nil without reference runs.
        public var ratio: Double? {
            guard let o = oursMedian, let r = referenceMedian, r > 0 else { return nil }
            return o / r
        }
    }

    public var date: String
    public var machine: String
    public var rows: [Row]

    public init(date: String, machine: String, rows: [Row] = []) {
        self.date = date
        self.machine = machine
        self.rows = rows
    }

    /// The table a person reads: medians, ratio, range, fraction of the ceiling, peak memory.
    public var table: String {
        func f(_ x: Double?, _ format: String) -> String { x.map { String(format: format, $0) } ?? "-" }
        let ceilings = rows.flatMap { $0.ours.compactMap(\.ceilingGFLOPs) }
        let backends = Set(rows.flatMap { $0.ours.compactMap(\.gemmBackend) }).sorted()
        var lines = ["\(date)  \(machine)"
                     + (median(ceilings).map { String(format: "  ceiling %.0f GFLOP/s (1024³, median of our runs)", $0) } ?? "")
                     + (backends.isEmpty ? "" : "  GEMM on " + backends.joined(separator: "/")),
                     "workload              ours/s      ref/s  ratio        ours range  ceiling  RSS ours  RSS ref"]
        for r in rows {
            let name = r.workload + (r.maxBatches.map { ":\($0)" } ?? "")
            let speeds = r.ours.map(\.samplesPerS)
            let range = speeds.isEmpty ? "-" : String(format: "%.0f-%.0f", speeds.min()!, speeds.max()!)
            lines.append(name.padding(toLength: 18, withPad: " ", startingAt: 0)
                         + f(r.oursMedian, "%10.0f") + " " + f(r.referenceMedian, "%10.0f") + " " + f(r.ratio, "%6.2f")
                         + range.leftPadded(18) + f(median(r.ours.compactMap(\.ceilingFraction)), "%9.3f")
                         + f(median(r.ours.map(\.peakRSSMB)), "%10.0f") + f(median(r.reference.map(\.peakRSSMB)), "%9.0f"))
        }
        lines.append("(medians of samples/s over alternating runs; ratio = ours / reference; RSS in MB)")
        return lines.joined(separator: "\n")
    }
}

/// The median (mean of the middle two for an even count); nil when empty.
func median(_ values: [Double]) -> Double? {
    values.isEmpty ? nil : ScoreStatistics.percentile(sorted: values.sorted(), 50)
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
