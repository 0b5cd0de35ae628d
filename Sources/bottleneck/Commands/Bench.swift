import ArgumentParser
import Bottleneck
import Foundation

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the reference workloads (as shared/peers/torch_bench.py) and print one JSON line each.",
        discussion: """
        Each workload runs in a fresh process so its peak memory is its own.
        Examples:
          bottleneck bench
          bottleneck bench --workloads dense,conv_seed --epochs 1
          bottleneck bench --calibrate        # measure the GEMM backends again, cache the choice, forget the conv choices
        Each line also holds the machine: CPU, ISA, the GEMM backend in use and its measured 1024³
        rate (the ceiling that ceiling_fraction divides by), at the threads in use.
        """)

    @Option(name: .long, help: "Comma list from \(BenchmarkWorkload.allCases.map(\.rawValue).joined(separator: ",")) or 'all'.")
    var workloads = "all"
    @Option(name: .long, help: "Training epochs per workload.") var epochs = 1
    @Option(name: .long, help: "Limit batches per epoch (part of an epoch).") var maxBatches: Int?
    @Option(name: .long, help: "Threads for OpenBLAS and oneDNN (the machine has 2 cores).") var threads = 2
    @Flag(name: .long, help: "Measure OpenBLAS and oneDNN's GEMM now, cache the faster for this machine, print the figures; convolutions measure their paths again when next run.")
    var calibrate = false
    @Flag(name: .long, help: "Run in this process (used by the per-workload subprocesses).") var inProcess = false
    @Flag(name: .long, help: "Skip the test-set evaluation (profiling the training loop alone).") var noEval = false

    func run() throws {
        let names = workloads == "all" ? BenchmarkWorkload.allCases.map(\.rawValue) : workloads.split(separator: ",").map(String.init)
        let chosen = try names.map { n -> BenchmarkWorkload in
            guard let w = BenchmarkWorkload(rawValue: n) else {
                throw BottleneckError("--workloads: unknown workload '\(n)' (known: \(BenchmarkWorkload.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return w
        }
        guard epochs >= 1 else { throw BottleneckError("--epochs must be at least 1") }
        guard threads >= 1 else { throw BottleneckError("--threads must be at least 1") }
        if calibrate {
            ComputeThreads.set(threads)
            let choice = KernelCalibration.calibrate(threads: threads)
            ConvolutionChoice.forgetMeasurements(threads: threads)  // measured again per geometry when next met
            GEMMBackend.force(GEMMBackend.forcedByEnvironment ?? choice.backend)
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys]
            print(String(decoding: try e.encode(choice), as: UTF8.self))
            print(String(decoding: try e.encode(MachineCeiling.measure()), as: UTF8.self))
            return
        }
        if inProcess {
            ComputeThreads.set(threads)
            for w in chosen {
                let e = JSONEncoder()
                e.outputFormatting = [.sortedKeys]
                print(String(decoding: try e.encode(try Benchmark.run(w, epochs: epochs, maxBatches: maxBatches, evaluate: !noEval)), as: UTF8.self))
                fflush(stdout)
            }
            return
        }
        for w in chosen {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0].hasPrefix("/") ? CommandLine.arguments[0]
                                  : FileManager.default.currentDirectoryPath + "/" + CommandLine.arguments[0])
            p.arguments = ["bench", "--in-process", "--workloads", w.rawValue, "--epochs", String(epochs), "--threads", String(threads)]
                + (maxBatches.map { ["--max-batches", String($0)] } ?? []) + (noEval ? ["--no-eval"] : [])
            var env = ProcessInfo.processInfo.environment
            env["OPENBLAS_NUM_THREADS"] = String(threads)
            env["OMP_NUM_THREADS"] = String(threads)
            p.environment = env
            try p.run()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else { throw BottleneckError("bench: workload \(w.rawValue) failed (exit \(p.terminationStatus))") }
        }
    }
}
