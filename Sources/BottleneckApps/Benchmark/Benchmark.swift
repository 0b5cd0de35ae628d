import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// The reference workloads of shared/peers (PyTorch), run the same way: Fashion-MNIST, Adam at
/// 1e-3, batch 128, seed 0; throughput counted from batch 21 on.
public enum BenchmarkWorkload: String, CaseIterable {
    case dense, deepDense = "deep_dense", convSeed = "conv_seed", convWiki = "conv_wiki", vae, denoise
    case inferConvSeed = "infer_conv_seed"

    public static let warmupBatches = 20

    public func spec() throws -> ArchitectureSpec {
        let shape = [1, 28, 28]
        switch self {
        case .dense: return try Preset.dense.spec(inputShape: shape)
        case .deepDense: return try Preset.deepDense.spec(inputShape: shape)
        case .convSeed, .inferConvSeed: return try Preset.conv.spec(inputShape: shape)
        case .denoise: return Variants.adapt(try Preset.conv.spec(inputShape: shape), to: VariantSpec(.denoising(noise: .gaussian(sigma: 0.3))))
        case .convWiki: return try Preset.convBN.spec(inputShape: shape)
        case .vae:
            return Variants.adapt(ArchitectureSpec(name: "vae",
                encoder: [LayerSpec("flatten"), LayerSpec("linear", ["out": .number(400)]), LayerSpec("relu"), LayerSpec("linear", ["out": .number(20)])],
                decoder: [LayerSpec("linear", ["out": .number(400)]), LayerSpec("relu"), LayerSpec("linear", ["out": .number(784)]), LayerSpec("sigmoid")]),
                to: VariantSpec(.vae()))
        }
    }

    var loss: LossKind { self == .vae ? .bce : .mse }
}

/// Forward FLOPs per sample (multiply-adds counted as 2) of the layers that do matrix work.
public func forwardFLOPs(_ model: Autoencoder) throws -> Double {
    var shape = model.inputShape, total = 0.0
    for layer in model.encoder.layers + model.decoder.layers {
        let out = try layer.outputShape(for: shape)
        switch layer {
        case let l as Linear: total += 2 * Double(l.inFeatures * l.outFeatures) * Double(out.dropLast().reduce(1, *))
        case let c as Conv2D: total += 2 * Double(c.inChannels * c.kernelSize.h * c.kernelSize.w) * Double(out.reduce(1, *))
        case let c as ConvTranspose2D: total += 2 * Double(c.outChannels * c.kernelSize.h * c.kernelSize.w) * Double(shape.reduce(1, *))
        case let l as LSTM: total += 2 * Double(4 * l.hiddenSize * (l.inputSize + l.hiddenSize)) * Double(shape[0])
        default: break
        }
        if model.isVariational && layer === model.encoder.layers.last { shape = model.codeShape } else { shape = out }
    }
    return total
}

/// CPU time other processes used while a benchmark ran: busy ticks of the whole machine minus
/// this process's own (from /proc), as torch_bench.py's `foreign_cpu_load`. Nil where /proc is missing.
struct CPUSample {
    let machineBusy: Double, own: Double, time: Date

    init?() {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first,
              let selfStat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = selfStat.lastIndex(of: ")") else { return nil }
        let v = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        let fields = selfStat[selfStat.index(after: close)...].split(separator: " ")
        guard v.count >= 7, fields.count > 13, let utime = Double(fields[11]), let stime = Double(fields[12]) else { return nil }
        machineBusy = v[0] + v[1] + v[2] + v[5] + v[6] + (v.count > 7 ? v[7] : 0)
        own = utime + stime
        time = Date()
    }

    /// Average number of CPUs kept busy by other processes between `self` and `later`.
    func foreignLoad(until later: CPUSample) -> Double {
        let hz = Double(sysconf(Int32(_SC_CLK_TCK))), dt = later.time.timeIntervalSince(time)
        guard dt > 0 else { return 0 }
        return Swift.max(0, ((later.machineBusy - machineBusy) - (later.own - own)) / hz / dt)
    }
}

/// Minor page faults of this process so far (fresh memory being touched).
func minorPageFaults() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_minflt
}

/// Peak resident memory of this process, in MB.
public func peakResidentMB() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
}

public struct BenchmarkResult: Codable {
    public var workload: String
    public var framework = "bottleneck"
    public var threads: Int
    public var params: Int
    public var epochs: Int
    public var batchSize: Int
    public var trainSamplesPerS: Double?
    public var inferSamplesPerS: Double?
    public var inferSamplesPerSMedianBatch: Double?
    public var epochWallS: [Double]
    public var flopsPerSample: Double
    /// The matrix work's rate (FLOPs per sample x samples/s), and its fraction of the machine's
    /// measured ceiling (`MachineCeiling`).
    public var achievedGFLOPs: Double?
    public var ceilingFraction: Double?
    public var ceiling: MachineCeiling?
    public var testMSE: Double?
    public var testELBOLossPerSample: Double?
    public var testPSNRDenoisedDB: Double?
    public var testPSNRNoisyInputDB: Double?
    public var peakRSSMB: Double
    /// CPUs other processes kept busy during the timed part (0 on an idle machine).
    public var foreignCPULoad: Double?
    /// Minor page faults per timed batch: memory not reused from one step to the next.
    public var pageFaultsPerBatch: Double?

    enum CodingKeys: String, CodingKey {
        case workload, framework, threads, params, epochs, batchSize = "batch_size", trainSamplesPerS = "train_samples_per_s"
        case inferSamplesPerS = "infer_samples_per_s", inferSamplesPerSMedianBatch = "infer_samples_per_s_median_batch"
        case epochWallS = "epoch_wall_s", flopsPerSample = "train_flops_per_sample", ceilingFraction = "ceiling_fraction", achievedGFLOPs = "gflops"
        case testMSE = "test_mse", testELBOLossPerSample = "test_elbo_loss_per_sample"
        case testPSNRDenoisedDB = "test_psnr_denoised_db", testPSNRNoisyInputDB = "test_psnr_noisy_input_db", peakRSSMB = "peak_rss_mb"
        case foreignCPULoad = "foreign_cpu_load", pageFaultsPerBatch = "page_faults_per_batch", ceiling = "machine"
    }
}

public enum Benchmark {
    /// Runs one workload in this process. Without `evaluate` the test-set figures are skipped
    /// (profiling the training loop alone).
    /// The machine's ceiling is measured after the workload, so that its buffers stay out of the
    /// workload's peak memory.
    public static func run(_ w: BenchmarkWorkload, epochs: Int = 1, maxBatches: Int? = nil, seed: UInt64 = 0,
                           evaluate: Bool = true) throws -> BenchmarkResult {
        var result = try measure(w, epochs: epochs, maxBatches: maxBatches, seed: seed, evaluate: evaluate)
        let ceiling = MachineCeiling.measure()
        result.ceiling = ceiling
        result.ceilingFraction = result.achievedGFLOPs.map { $0 / ceiling.gflops }
        return result
    }

    private static func measure(_ w: BenchmarkWorkload, epochs: Int, maxBatches: Int?, seed: UInt64,
                                evaluate: Bool) throws -> BenchmarkResult {
        var train = try FashionMNIST.load(.train)
        let test = try FashionMNIST.load(.test)
        if let maxBatches { train = train.subset(Array(0..<min(train.count, maxBatches * 128))) }
        let rng = RandomGenerator(seed: seed)
        let model = try Autoencoder(spec: try w.spec(), inputShape: [1, 28, 28], rng: rng)
        let flops = try forwardFLOPs(model)
        var result = BenchmarkResult(workload: w.rawValue, threads: ComputeThreads.current, params: model.parameterCount, epochs: epochs,
                                     batchSize: 128, epochWallS: [], flopsPerSample: 3 * flops, peakRSSMB: 0)
        if w == .inferConvSeed {
            model.eval()
            let batches = test.sequentialBatches(size: 1024).filter { $0.shape[0] == 1024 }
            withoutGradients { for b in batches.prefix(5) { _ = model(b) } }
            var times: [Double] = []
            let cpu = CPUSample(), faults = minorPageFaults()
            let start = Date()
            withoutGradients { for r in 0..<100 { let t = Date(); _ = model(batches[r % batches.count]); times.append(Date().timeIntervalSince(t)) } }
            let total = Date().timeIntervalSince(start)
            if let cpu, let end = CPUSample() { result.foreignCPULoad = cpu.foreignLoad(until: end) }
            result.pageFaultsPerBatch = Double(minorPageFaults() - faults) / 100
            times.sort()
            result.inferSamplesPerS = 100 * 1024 / total
            result.inferSamplesPerSMedianBatch = 1024 / times[times.count / 2]
            result.flopsPerSample = flops
            result.achievedGFLOPs = flops * result.inferSamplesPerS! / 1e9
            result.epochs = 0
            result.batchSize = 1024
            result.peakRSSMB = peakResidentMB()
            return result
        }
        var config = TrainingConfig()
        config.epochs = epochs
        config.loss = w.loss
        config.seed = seed
        let objective = try Variants.objective(model.spec.variant, model: model, loss: w.loss, rng: rng)
        let trainer = try Trainer(model: model, objective: objective, config: config, rng: rng)
        var steadyStart: Date?, steadySamples = 0, globalBatch = 0
        var steadyCPU: CPUSample?, steadyFaults = 0
        trainer.onBatch = { p in
            globalBatch += 1
            if globalBatch == BenchmarkWorkload.warmupBatches { steadyStart = Date(); steadyCPU = CPUSample(); steadyFaults = minorPageFaults() }
            else if globalBatch > BenchmarkWorkload.warmupBatches { steadySamples += p.batch == p.batches ? train.count - (p.batches - 1) * 128 : 128 }
        }
        try trainer.fit(train: train)
        if let steadyStart { result.trainSamplesPerS = Double(steadySamples) / Date().timeIntervalSince(steadyStart) }
        if let steadyCPU, let end = CPUSample() { result.foreignCPULoad = steadyCPU.foreignLoad(until: end) }
        if globalBatch > BenchmarkWorkload.warmupBatches {
            result.pageFaultsPerBatch = Double(minorPageFaults() - steadyFaults) / Double(globalBatch - BenchmarkWorkload.warmupBatches)
        }
        result.epochWallS = trainer.history.map(\.seconds)
        result.achievedGFLOPs = result.trainSamplesPerS.map { 3 * flops * $0 / 1e9 }
        model.eval()
        guard evaluate else {
            result.peakRSSMB = peakResidentMB()
            return result
        }
        switch w {
        case .vae:
            let o = objective as! VariationalObjective
            result.testELBOLossPerSample = o.negativeELBO(model, on: test, rng: RandomGenerator(seed: 1234)).total
            result.testMSE = try evaluateReconstruction(model, on: test).mse
        case .denoise:
            let (noisy, clean) = noisyTestSet(test, sigma: 0.3, seed: 1234)
            let denoised = mapBatches(noisy) { model($0) }
            result.testMSE = meanSquaredError(denoised, clean.inputs)
            result.testPSNRDenoisedDB = psnr(mse: result.testMSE!)
            result.testPSNRNoisyInputDB = psnr(mse: meanSquaredError(noisy.inputs, clean.inputs))
        default:
            result.testMSE = try evaluateReconstruction(model, on: test).mse
        }
        result.peakRSSMB = peakResidentMB()
        return result
    }

    /// The test set with fixed Gaussian noise (clipped to [0, 1]), and the clean set.
    public static func noisyTestSet(_ test: Dataset, sigma: Float, seed: UInt64) -> (noisy: Dataset, clean: Dataset) {
        var noisy = test
        noisy.inputs = NoiseModel.gaussian(sigma: sigma).apply(test.inputs, rng: RandomGenerator(seed: seed))
        return (noisy, test)
    }
}
