import Foundation
import BottleneckCore

/// What this machine can do at most: the best float32 GEMM rate of the backends on 1024³ with
/// the threads in use, measured (not assumed: the 185 GFLOP/s of a Zen 3 is 450 on a Zen 5),
/// and the CPU it was measured on.
public struct MachineCeiling: Codable, Equatable {
    public var cpu: String
    /// The widest vector instruction set the CPU reports: AVX-512, AVX2 or SSE.
    public var isa: String
    public var threads: Int
    /// The backend that reached the ceiling, and its rate.
    public var backend: GEMMBackend
    public var gflops: Double
    public var gflopsByBackend: [String: Double]
    /// The backend the workloads' products run on (the calibration's choice, or the forced one).
    public var activeBackend: GEMMBackend

    enum CodingKeys: String, CodingKey {
        case cpu, isa, threads, backend = "ceiling_backend", gflops = "ceiling_gflops", gflopsByBackend = "gflops_1024_by_backend"
        case activeBackend = "gemm_backend"
    }

    /// Best of `repeats` products of two 1024 x 1024 matrices on each backend; the faster
    /// backend's rate is the ceiling (about 0.1 s per backend on 2 Zen 5 cores, 0.7 s on Zen 1).
    public static func measure(repeats: Int = 20) -> MachineCeiling {
        let n = 1024
        let a = Tensor(shape: [n, n]), b = Tensor(shape: [n, n]), c = Tensor(shape: [n, n])
        a.data.update(repeating: 0.5, count: n * n)
        b.data.update(repeating: 0.25, count: n * n)
        var rates: [GEMMBackend: Double] = [:]
        for backend in GEMMBackend.allCases {
            let product = { sgemm(m: n, n: n, k: n, a: a.data, lda: n, b: b.data, ldb: n, c: c.data, ldc: n, on: backend) }
            product()  // warm-up, untimed
            let best = bestSeconds(rounds: repeats, product)
            rates[backend] = 2 * Double(n * n * n) / best / 1e9
        }
        let fastest = rates.max { $0.value < $1.value }!
        let (cpu, isa) = cpuDescription()
        return MachineCeiling(cpu: cpu, isa: isa, threads: ComputeThreads.current, backend: fastest.key, gflops: fastest.value,
                              gflopsByBackend: Dictionary(uniqueKeysWithValues: rates.map { ($0.key.rawValue, $0.value) }),
                              activeBackend: GEMMBackend.active)
    }

    /// The model name and the widest vector ISA in /proc/cpuinfo.
    public static func cpuDescription() -> (model: String, isa: String) {
        let field = KernelCalibration.cpuInfo
        let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
        let isa = flags.contains("avx512f") ? "AVX-512" : flags.contains("avx2") ? (flags.contains("fma") ? "AVX2+FMA" : "AVX2") : "SSE"
        let family = field("cpu family").map { " (family \($0))" } ?? ""
        return ((field("model name") ?? "unknown CPU") + family, isa)
    }
}
