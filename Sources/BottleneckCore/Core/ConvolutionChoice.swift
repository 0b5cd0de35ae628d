import Foundation

/// The two ways a convolution runs: im2col + the chosen GEMM, or oneDNN's convolution primitives.
public enum ConvolutionPath: String, CaseIterable, Codable, Sendable {
    case im2col
    case oneDNN = "onednn"
}

/// Which path runs each convolution geometry, by measurement on this machine. A layer meeting a
/// geometry for the first time (input shape, kernel, stride, padding, dilation, bias, training or
/// inference, and the GEMM backend im2col would use) times both paths on it, a few rounds each,
/// alternating, and keeps the faster. The figures are cached per machine and thread count beside
/// the GEMM calibration (`KernelCalibration.cacheDirectory`), so later runs make the same choice
/// and compute the same bytes. `BOTTLENECK_CONV=im2col|onednn` forces one.
public enum ConvolutionChoice {
    /// One measured geometry: milliseconds per call of each path (forward, plus backward when
    /// training), and the choice.
    public struct Measurement: Codable, Equatable, Sendable {
        public var path: ConvolutionPath
        public var im2colMilliseconds: Double
        public var oneDNNMilliseconds: Double
    }

    struct CacheFile: Codable {
        var machine: String
        var threads: Int
        var geometries: [String: Measurement]
    }

    /// oneDNN must beat im2col by this factor: a near tie keeps the path that ran before there
    /// was a choice.
    static let margin = 1.05

    /// The path for `geometry`: the forced one, else the measured one (measuring now, with the two
    /// closures, when it is new). Each closure runs one call of its path on data of that geometry.
    package static func path(for geometry: String, im2col: () -> Void, oneDNN: () -> Void) -> ConvolutionPath {
        if let forced { return forced }
        return measurement(for: geometry + " gemm=" + GEMMBackend.active.rawValue, im2col: im2col, oneDNN: oneDNN).path
    }

    /// The cached measurement for `geometry`, or a new one (cached).
    package static func measurement(for geometry: String, im2col: () -> Void, oneDNN: () -> Void) -> Measurement {
        lock.lock()
        defer { lock.unlock() }
        let threads = ComputeThreads.current
        if known == nil || known!.threads != threads { known = loadCache(threads: threads) }
        if let cached = known!.geometries[geometry] { return cached }
        let measured = measure(im2col: im2col, oneDNN: oneDNN)
        // Merge with what another process may have written meanwhile, then replace the file.
        var merged = loadCache(threads: threads)
        merged.geometries.merge(known!.geometries) { theirs, _ in theirs }
        merged.geometries[geometry] = measured
        known = merged
        if let path = cacheFile(threads: threads), let data = try? JSONEncoder().encode(merged) {
            try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                     withIntermediateDirectories: true)
            try? writeAtomically(data, to: path)
        }
        return measured
    }

    /// Times both paths: one untimed call each, then alternating rounds, the best of each counting.
    /// Slow geometries get fewer rounds (their timings vary less).
    static func measure(im2col: () -> Void, oneDNN: () -> Void) -> Measurement {
        let first = bestSeconds(rounds: 1, im2col)
        oneDNN()
        let rounds = first > 0.05 ? 2 : 4
        var im2colBest = Double.infinity, oneDNNBest = Double.infinity
        for _ in 0..<rounds {
            im2colBest = Swift.min(im2colBest, bestSeconds(rounds: 1, im2col))
            oneDNNBest = Swift.min(oneDNNBest, bestSeconds(rounds: 1, oneDNN))
        }
        return Measurement(path: im2colBest > oneDNNBest * margin ? .oneDNN : .im2col,
                           im2colMilliseconds: im2colBest * 1e3, oneDNNMilliseconds: oneDNNBest * 1e3)
    }

    /// Makes every later convolution take `path` (nil: the environment's, else by measurement).
    public static func force(_ path: ConvolutionPath?) {
        lock.lock()
        current = path
        lock.unlock()
    }

    /// Drops this machine's measurements, in memory and on disk: every geometry is measured again
    /// when next met (`bottleneck bench --calibrate`).
    public static func forgetMeasurements(threads: Int) {
        lock.lock()
        defer { lock.unlock() }
        known = nil
        if let path = cacheFile(threads: threads) { try? FileManager.default.removeItem(atPath: path) }
    }

    /// The path every convolution takes now regardless of measurement (`force`, else
    /// `BOTTLENECK_CONV`), or nil.
    public static var forced: ConvolutionPath? {
        lock.lock()
        defer { lock.unlock() }
        return current ?? forcedByEnvironment
    }

    /// `BOTTLENECK_CONV`'s path; nil when unset or `auto`.
    public static var forcedByEnvironment: ConvolutionPath? { environment.forced }

    /// One line naming the variable and what is wrong with it, or nil (the CLI refuses to start).
    public static var environmentProblem: String? { environment.problem }

    private static let environment = KernelOverride<ConvolutionPath>(variable: "BOTTLENECK_CONV")
    private static let lock = NSLock()
    nonisolated(unsafe) private static var current: ConvolutionPath?
    nonisolated(unsafe) private static var known: CacheFile?

    private static func loadCache(threads: Int) -> CacheFile {
        let empty = CacheFile(machine: KernelCalibration.machineIdentity, threads: threads, geometries: [:])
        guard let path = cacheFile(threads: threads), let data = FileManager.default.contents(atPath: path),
              let cached = try? JSONDecoder().decode(CacheFile.self, from: data),
              cached.machine == empty.machine, cached.threads == threads else { return empty }
        return cached
    }

    static func cacheFile(threads: Int) -> String? {
        KernelCalibration.cacheFile(threads: threads).map { ($0 as NSString).deletingLastPathComponent + "/conv-" +
            (($0 as NSString).lastPathComponent.dropFirst("gemm-".count)) }
    }
}

/// What a convolution call asks of its path, to time it on stand-in data of the same shapes:
/// the forward pass alone (inference), or forward and backward with the gradients the call needs.
package struct ConvolutionMeasurement: CustomStringConvertible {
    let shapes: (x: [Int], w: [Int], b: [Int]?)
    let needsGradient: (x: Bool, w: Bool, b: Bool)
    package var training: Bool { needsGradient.x || needsGradient.w || needsGradient.b }

    package init(_ x: Tensor, _ w: Tensor, _ b: Tensor?) {
        shapes = (x.shape, w.shape, b?.shape)
        let recording = GradientMode.isEnabled
        needsGradient = (recording && x.requiresGrad, recording && w.requiresGrad, recording && b?.requiresGrad == true)
    }

    package var description: String {
        let bias = shapes.b == nil ? "no-bias" : "bias"
        guard training else { return "\(bias) inference" }
        let grads = [needsGradient.x ? "dx" : nil, needsGradient.w ? "dw" : nil, needsGradient.b ? "db" : nil].compactMap { $0 }
        return "\(bias) training(\(grads.joined(separator: ",")))"
    }

    /// One call of `op` on fresh tensors of the call's shapes, and its backward pass when training.
    package func run(_ op: (Tensor, Tensor, Tensor?) -> Tensor) {
        func standIn(_ shape: [Int], _ grad: Bool) -> Tensor {
            let t = Tensor(shape: shape, zeroed: false)
            for i in 0..<t.count { t.data[i] = Float(i % 13) * 0.01 - 0.06 }
            t.requiresGrad = grad
            return t
        }
        let x = standIn(shapes.x, needsGradient.x), w = standIn(shapes.w, needsGradient.w)
        let b = shapes.b.map { standIn($0, needsGradient.b) }
        let y = op(x, w, b)
        guard training else { return }
        let seed = Tensor(shape: y.shape, zeroed: false)
        seed.data.update(repeating: 1, count: seed.count)
        y.backward(seed: seed)
    }
}
