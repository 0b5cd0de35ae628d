import Foundation

/// Which backend runs this machine's matrix products, by measurement. The figures are kept in a
/// small JSON file per machine (CPU model and flags) and thread count, under
/// `$BOTTLENECK_CACHE_DIR`, else `$XDG_CACHE_HOME/bottleneck`, else `~/.cache/bottleneck`: the
/// choice is measured once and every later run on that machine makes the same one (and so
/// computes the same bytes). Without a writable folder it is measured once per process.
public enum KernelCalibration {
    /// One calibration: GFLOP/s of each backend on the shapes of `shapes`, and the choice.
    public struct GEMMChoice: Codable, Equatable, Sendable {
        public var machine: String
        public var threads: Int
        public var gflops: [String: Double]
        public var backend: GEMMBackend
        public var measured: String
    }

    /// Products the workloads make (m, n, k, transA, transB): dense layers and their gradients,
    /// a VAE's wide layer, a convolution's columns, and a square one.
    static let shapes: [(m: Int, n: Int, k: Int, transA: Bool, transB: Bool)] = [
        (128, 32, 784, false, true), (128, 784, 32, false, false), (32, 784, 128, true, false),
        (128, 400, 784, false, true), (144, 2058, 32, true, false), (32, 144, 2058, false, true), (512, 512, 512, false, false),
    ]

    /// oneDNN must beat OpenBLAS by this factor over all shapes to be chosen: a near tie keeps
    /// the library that ran before there was a choice.
    static let margin = 1.05

    /// oneDNN when it takes less time than OpenBLAS by the margin, else OpenBLAS.
    static func choose(openBLASSeconds: Double, oneDNNSeconds: Double) -> GEMMBackend {
        openBLASSeconds > oneDNNSeconds * margin ? .oneDNN : .openBLAS
    }

    /// The cached choice for this machine and `threads`, or a new calibration (cached).
    public static func gemmChoice(threads: Int) -> GEMMChoice {
        let path = cacheFile(threads: threads)
        if let path, let data = FileManager.default.contents(atPath: path),
           let cached = try? JSONDecoder().decode(GEMMChoice.self, from: data),
           cached.machine == machineIdentity, cached.threads == threads {
            return cached
        }
        return calibrate(threads: threads)
    }

    /// Measures both backends now and caches the result (`bottleneck bench --calibrate`).
    @discardableResult
    public static func calibrate(threads: Int) -> GEMMChoice {
        let largest = shapes.map { Swift.max($0.m * $0.k, $0.k * $0.n, $0.m * $0.n) }.max()!
        let a = UnsafeMutablePointer<Float>.allocate(capacity: largest), b = UnsafeMutablePointer<Float>.allocate(capacity: largest)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: largest)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for i in 0..<largest { a[i] = Float(i % 7) * 0.1; b[i] = Float(i % 5) * 0.1; c[i] = 0 }
        // Each backend runs all shapes in a block, twice, alternating: the other library's
        // threads have gone idle by then. Per shape the best of the rounds counts.
        var best: [GEMMBackend: [Double]] = [:]
        for _ in 0..<2 {
            for backend in GEMMBackend.allCases {
                var times = best[backend] ?? Array(repeating: .infinity, count: shapes.count)
                for (i, s) in shapes.enumerated() {
                    let repeats = Swift.max(3, Int(1e8 / (2.0 * Double(s.m * s.n * s.k))))
                    let product = {
                        sgemm(transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, a: a, lda: s.transA ? s.m : s.k,
                              b: b, ldb: s.transB ? s.k : s.n, c: c, ldc: s.n, on: backend)
                    }
                    product()
                    times[i] = Swift.min(times[i], bestSeconds(rounds: 2, repeats: repeats, product))
                }
                best[backend] = times
            }
        }
        let seconds = best.mapValues { $0.reduce(0, +) }
        let flops = shapes.reduce(0) { $0 + 2.0 * Double($1.m * $1.n * $1.k) }
        let blas = seconds[.openBLAS]!, dnnl = seconds[.oneDNN]!
        let formatter = ISO8601DateFormatter()
        let choice = GEMMChoice(machine: machineIdentity, threads: threads,
                                gflops: Dictionary(uniqueKeysWithValues: seconds.map { ($0.key.rawValue, flops / $0.value / 1e9) }),
                                backend: choose(openBLASSeconds: blas, oneDNNSeconds: dnnl), measured: formatter.string(from: Date()))
        if let path = cacheFile(threads: threads), let data = try? JSONEncoder().encode(choice) {
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                     withIntermediateDirectories: true)
            try? writeAtomically(data, to: path)
        }
        return choice
    }

    /// The CPU's model name and a digest of its flags: a cache written on one kind of machine is
    /// never used on another.
    public static let machineIdentity: String = {
        var digest = SHA256()
        digest.update(cpuInfo("flags") ?? "")
        return "\(cpuInfo("model name") ?? "unknown") [\(SHA256.hex(digest.finalize()).prefix(12))]"
    }()

    /// A field of /proc/cpuinfo's first processor ("model name", "flags", ...), or nil.
    public static func cpuInfo(_ name: String) -> String? {
        cpuInfoLines.first { $0.hasPrefix(name) }.map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) }
    }

    private static let cpuInfoLines: [Substring] =
        ((try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "").split(separator: "\n")

    /// The folder kernel choices are cached in, or nil without one.
    public static var cacheDirectory: String? {
        let env = ProcessInfo.processInfo.environment
        if let dir = env["BOTTLENECK_CACHE_DIR"], !dir.isEmpty { return dir }
        if let dir = env["XDG_CACHE_HOME"], !dir.isEmpty { return dir + "/bottleneck" }
        if let home = env["HOME"], !home.isEmpty { return home + "/.cache/bottleneck" }
        return nil
    }

    static func cacheFile(threads: Int) -> String? {
        guard let dir = cacheDirectory else { return nil }
        var digest = SHA256()
        digest.update(machineIdentity)
        return "\(dir)/gemm-\(SHA256.hex(digest.finalize()).prefix(16))-t\(threads).json"
    }
}
