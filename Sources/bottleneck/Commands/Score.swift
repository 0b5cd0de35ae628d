import ArgumentParser
import Bottleneck
import BottleneckServe
import Foundation

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Anomaly scores as JSON lines, one per sample: of a data file, or (--stream) of standard input as lines arrive.",
        discussion: """
        Each output line is {"line": N, "score": S, "flag": true|false} (flag null when the model
        stores no detector: fit one with `detect --fit`), with the top-3 columns by error for tables.
        --stream reads JSON lines (an array of numbers, or an object keyed by the model's columns) or
        CSV rows (a first line that is not all numbers is the header) and answers each line when it
        arrives. A line that cannot be scored gets {"line": N, "error": "..."}, the stream goes on,
        and the exit status is 1.

        Examples:
          tail -f readings.csv | bottleneck score --model sensors.safetensors --stream
          bottleneck score --model trouser.safetensors --data test.npy > scores.jsonl
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file.") var model: String
    @Flag(name: .long, help: "Score standard input line by line as it arrives.") var stream = false
    @OptionGroup var dataOptions: DataOptions

    func run() throws {
        let name = ((model as NSString).lastPathComponent as NSString).deletingPathExtension
        let served = try ServedModel(name: name, path: model, memoryLimit: memory.maxModelMemory)
        let scorer = StreamScorer(model: served)
        if stream {
            guard dataOptions.data == nil else { throw BottleneckError("give --stream (standard input) or --data, not both") }
            while let line = readLine(strippingNewline: true) {
                if let answer = scorer.answer(line) {
                    print(answer)
                    fflush(stdout)
                }
            }
        } else {
            let data = try DataSource.load(try dataOptions.request(), split: .test)
            try served.bundle.check(data)
            for line in try scorer.lines(data.inputs) { print(line) }
        }
        if scorer.failures > 0 {
            FileHandle.standardError.write(Data("Error: \(scorer.failures) line(s) could not be scored (see their \"error\" answers)\n".utf8))
            Foundation.exit(1)
        }
    }
}
