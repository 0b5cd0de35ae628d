import ArgumentParser
import Bottleneck
import Foundation

struct Summary: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's layers, output shapes and parameter counts (like Keras' model.summary()).",
        discussion: """
        Examples:
          bottleneck summary --preset conv
          bottleneck summary --model dense.safetensors
          bottleneck summary --arch my-model.json --input-shape 1x28x28
          bottleneck summary --preset conv-bn --print-json > my-model.json   # a starting point
        """)

    @Option(name: .long, help: "Model file.") var model: String?
    @OptionGroup var choice: ModelChoice
    @Option(name: .long, help: "Per-sample input shape for presets/architecture files, e.g. 1x28x28 or 20 (default 1x28x28).")
    var inputShape = "1x28x28"
    @Flag(name: .long, help: "Print the architecture as JSON instead of the table.") var printJSON = false
    @OptionGroup var memory: MemoryOptions

    func run() throws {
        let m: Autoencoder
        var notes: [String] = []
        if let model {
            let bundle = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
            m = bundle.model
            // What train chose from the data, and the stored detector, so the file explains itself.
            if let d = bundle.dataDefaults { notes.append("chosen by train: " + d.summary) }
            if let det = bundle.detector { notes.append("detector: \(det.score.rawValue) score, threshold \(det.threshold) (\(det.rule))") }
        } else {
            let shape = try parseSampleShape(inputShape, flag: "--input-shape")
            m = try Autoencoder(spec: try choice.spec(for: shape), inputShape: shape, rng: RandomGenerator(seed: 0), memoryLimit: memory.maxModelMemory)
        }
        if printJSON { print(try prettyJSON(m.spec)); return }
        print(try modelSummary(m))
        notes.forEach { print($0) }
    }
}

/// The table: one row per layer with its path, type, output shape and parameters.
func modelSummary(_ m: Autoencoder) throws -> String {
    let rows = try m.layerRows().map { ($0.path, $0.kind, formatShape($0.outputShape), $0.parameters) }
    let w0 = max(12, rows.map(\.0.count).max()!), w1 = max(10, rows.map(\.1.count).max()!), w2 = max(14, rows.map(\.2.count).max()!)
    func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
    var out = "Model: \(m.spec.name)\n"
    let header = pad("Layer", w0) + "  " + pad("Type", w1) + "  " + pad("Output shape", w2) + "  Param #"
    out += header + "\n" + String(repeating: "=", count: header.count + 4) + "\n"
    for r in rows { out += pad(r.0, w0) + "  " + pad(r.1, w1) + "  " + pad(r.2, w2) + "  " + grouped(r.3) + "\n" }
    out += String(repeating: "=", count: header.count + 4) + "\n"
    out += "Total params: \(grouped(m.parameterCount))  (encoder \(grouped(m.encoder.parameterCount)), decoder \(grouped(m.decoder.parameterCount)))\n"
    out += "Compression: \(m.inputShape.reduce(1, *)) values -> \(m.codeShape.reduce(1, *)) (\(String(format: "%.1f", m.compressionRatio))x)"
    return out
}
