import Bottleneck
import Foundation

/// Trains an ensemble's members in child processes, `jobs` at a time, each on one compute thread:
/// small models train faster side by side than one after another on two threads (measured: four
/// members on the digits table 1.60 s one after another, 0.67 s two at a time), and a process per
/// member keeps the library's thread settings and caches out of each other's way. A child is this
/// program with the same arguments and `--ensemble-member I`; its output goes to
/// `<member>.train.txt`.
struct EnsembleJobs {
    let members: Int
    let jobs: Int
    let paths: [String]

    /// Runs every member; throws after all have ended when any failed, naming them.
    func run(seed: (Int) -> UInt64) throws {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var environment = ProcessInfo.processInfo.environment
        (environment["OPENBLAS_NUM_THREADS"], environment["OMP_NUM_THREADS"]) = ("1", "1")
        var running: [(member: Int, process: Process)] = [], failures: [String] = []
        func finish(_ entry: (member: Int, process: Process)) {
            entry.process.waitUntilExit()
            let transcript = paths[entry.member - 1] + ".train.txt"
            // Members differ only in their seeds, so the first one's warnings are everyone's.
            if entry.member == 1, let text = try? String(contentsOfFile: transcript, encoding: .utf8) {
                for line in text.split(separator: "\n") where line.hasPrefix("warning: ") {
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                }
            }
            if entry.process.terminationStatus == 0 {
                print("member \(entry.member) of \(members), seed \(seed(entry.member)): saved \(paths[entry.member - 1]) (output in \(transcript))")
            } else {
                let last = (try? String(contentsOfFile: transcript, encoding: .utf8))?.split(separator: "\n").last.map(String.init) ?? ""
                failures.append("member \(entry.member): \(last.isEmpty ? "exit status \(entry.process.terminationStatus)" : last)")
            }
        }
        for member in 1...members {
            if running.count == jobs { finish(running.removeFirst()) }
            let transcript = paths[member - 1] + ".train.txt"
            guard FileManager.default.createFile(atPath: transcript, contents: nil), let handle = FileHandle(forWritingAtPath: transcript) else {
                throw BottleneckError.file(transcript, "cannot be written")
            }
            let p = Process()
            p.executableURL = executable
            p.arguments = Array(CommandLine.arguments.dropFirst()) + ["--ensemble-member", String(member)]
            p.environment = environment
            (p.standardOutput, p.standardError) = (handle, handle)
            try p.run()
            running.append((member, p))
        }
        running.forEach(finish)
        if !failures.isEmpty { throw BottleneckError("ensemble training failed: " + failures.joined(separator: "; ")) }
    }
}
