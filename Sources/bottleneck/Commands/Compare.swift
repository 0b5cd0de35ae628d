import ArgumentParser
import Bottleneck
import Foundation

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark ours against the PyTorch reference, alternating runs, and print the ratio of medians.",
        discussion: """
        For each workload: ours, reference, ours, reference, ... (--rounds each), every run a fresh
        process. The reference is bench/reference/torch_bench.py run by --python. Without torch it
        says how to install it and still measures ours.
        Examples:
          bottleneck compare --python VENV/bin/python
          bottleneck compare --workloads dense,vae,conv_wiki:120 --rounds 5 --json compare.json
        """)

    @Option(name: .long, help: "Python with torch and numpy (default: $TORCH_PYTHON, else python3).")
    var python: String?
    @Option(name: .long, help: "The reference script.") var reference = "bench/reference/torch_bench.py"
    @Option(name: .long, help: "Comma list of NAME or NAME:MAXBATCHES (part of an epoch), or 'all'.")
    var workloads = "all"
    @Option(name: .long, help: "Runs of each side per workload (at least 3 for a median).") var rounds = 3
    @Option(name: .long, help: "Training epochs per run.") var epochs = 1
    @Option(name: .long, help: "Threads for both (the machine has 2 cores).") var threads = 2
    @Option(name: .long, help: "Also write the summary as JSON here.") var json: String?

    func run() throws {
        guard rounds >= 1 else { throw BottleneckError("--rounds must be at least 1") }
        let known = BenchmarkWorkload.allCases.map(\.rawValue)
        let chosen = try (workloads == "all" ? known : workloads.split(separator: ",").map(String.init)).map { item -> (String, Int?) in
            let parts = item.split(separator: ":", maxSplits: 1).map(String.init)
            guard known.contains(parts[0]) else { throw BottleneckError("--workloads: unknown workload '\(parts[0])' (known: \(known.joined(separator: ", ")))") }
            guard parts.count == 1 || Int(parts[1]).map({ $0 > 0 }) == true else { throw BottleneckError("--workloads: '\(item)': batches must be a positive integer") }
            return (parts[0], parts.count > 1 ? Int(parts[1]) : nil)
        }
        let interpreter = python ?? ProcessInfo.processInfo.environment["TORCH_PYTHON"] ?? "python3"
        let torchMissing = referenceUnavailable(interpreter)
        if let why = torchMissing {
            FileHandle.standardError.write(Data("""
            compare: the PyTorch reference cannot run (\(why)); measuring Bottleneck only.
              Install it in a virtual environment and pass it with --python (or TORCH_PYTHON):
                python3 -m venv VENV && VENV/bin/pip install torch numpy
                bottleneck compare --python VENV/bin/python
              (the PyPI Linux wheel pulls ~5 GB of CUDA packages; where `pip config list` names a folder of
               CPU-only wheels, install that torch with --no-deps plus numpy typing_extensions sympy networkx
               jinja2 filelock fsspec mpmath MarkupSafe)

            """.utf8))
        }
        var env = ProcessInfo.processInfo.environment
        env["OPENBLAS_NUM_THREADS"] = String(threads)
        env["OMP_NUM_THREADS"] = String(threads)
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        var summary = BenchmarkComparison(date: formatter.string(from: Date()), machine: machineDescription())
        for (name, limit) in chosen {
            let common = ["--epochs", String(epochs), "--threads", String(threads)] + (limit.map { ["--max-batches", String($0)] } ?? [])
            var row = BenchmarkComparison.Row(workload: name, maxBatches: limit)
            for round in 1...rounds {
                let ours = try runJSON(selfPath(), ["bench", "--in-process", "--workloads", name] + common, env: env)
                row.ours.append(ours)
                note("\(name) round \(round): ours \(Int(ours.samplesPerS))/s")
                if torchMissing == nil {
                    let ref = try runJSON(interpreter, [reference, "--single", name] + common, env: env)
                    row.reference.append(ref)
                    note("\(name) round \(round): reference \(Int(ref.samplesPerS))/s")
                }
            }
            summary.rows.append(row)
        }
        print(summary.table)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let line = String(decoding: try encoder.encode(summary), as: UTF8.self)
        print(line)
        if let json { try writeAtomically(Data((line + "\n").utf8), to: json) }
    }

    private func note(_ s: String) { FileHandle.standardError.write(Data("# \(s)\n".utf8)) }

    /// Why the reference cannot run, or nil when it can.
    private func referenceUnavailable(_ interpreter: String) -> String? {
        guard FileManager.default.fileExists(atPath: reference) else { return "\(reference) not found; run from the project root or pass --reference" }
        guard let result = try? capture(interpreter, ["-c", "import torch, numpy"], env: ProcessInfo.processInfo.environment) else {
            return "\(interpreter) cannot be started"
        }
        return result.status == 0 ? nil : "\(interpreter) cannot import torch and numpy"
    }

    private func runJSON(_ program: String, _ arguments: [String], env: [String: String]) throws -> BenchmarkComparison.Run {
        let result = try capture(program, arguments, env: env)
        guard result.status == 0 else { throw BottleneckError("compare: \(program) \(arguments.joined(separator: " ")) failed (exit \(result.status))") }
        guard let run = BenchmarkComparison.Run(jsonLines: result.output) else {
            throw BottleneckError("compare: \(program) \(arguments.joined(separator: " ")) printed no JSON result line")
        }
        return run
    }

    /// Runs a program (looked up on PATH when the name has no slash) and returns its exit status and stdout.
    private func capture(_ program: String, _ arguments: [String], env: [String: String]) throws -> (status: Int32, output: String) {
        let p = Process()
        if program.contains("/") {
            p.executableURL = URL(fileURLWithPath: program)
            p.arguments = arguments
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [program] + arguments
        }
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func selfPath() -> String {
        let a = CommandLine.arguments[0]
        return a.contains("/") ? (a.hasPrefix("/") ? a : FileManager.default.currentDirectoryPath + "/" + a) : "/proc/self/exe"
    }

    private func machineDescription() -> String {
        let (model, isa) = MachineCeiling.cpuDescription()
        return "\(model), \(isa), \(ProcessInfo.processInfo.activeProcessorCount) CPUs, \(threads) threads"
    }
}
