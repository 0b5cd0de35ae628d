import ArgumentParser
import Bottleneck
import Foundation

struct Encode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write the latent codes of data (the encoder alone) to NPY or CSV, with labels when present.",
        discussion: """
        Examples:
          bottleneck encode --model conv.safetensors --output codes.npy     # also codes.labels.npy
          bottleneck encode --model conv.safetensors --output codes.csv     # label column first
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file.") var model: String
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Fashion-MNIST split when no --data is given: train or test.") var split = "test"
    @Option(name: [.short, .long], help: "Output .npy or .csv file.") var output = "codes.npy"

    func run() throws {
        guard let s = FashionMNIST.Split(rawValue: split) else { throw BottleneckError("--split must be train or test") }
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        let data = try loaded.data(dataOptions, split: s)
        loaded.model.eval()
        let codes = mapBatches(data) { loaded.model.encode($0) }
        let flat = codes.reshaped([data.count, -1])
        try writeTable(flat, labels: data.labels, to: output, columnPrefix: "z")
        print("wrote \(output): \(data.count) codes of \(flat.shape[1]) values" + (data.labels == nil ? "" : " with labels"))
    }
}

struct Decode: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode latent codes (NPY or CSV) to outputs: NPY, CSV, or a PNG grid for images.",
        discussion: """
        Examples:
          bottleneck decode --model conv.safetensors --codes codes.npy --output decoded.png
          bottleneck decode --model dense.safetensors --codes codes.csv --output decoded.npy
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file.") var model: String
    @Option(name: .long, help: "Codes: .npy [N, code size] or .csv (a 'label' column is ignored).") var codes: String
    @Option(name: [.short, .long], help: "Output: .png grid, .npy or .csv.") var output = "decoded.png"

    func run() throws {
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        let table = try readTable(codes, ignoring: ["label"])
        let codeSize = loaded.model.codeShape.reduce(1, *)
        guard table.shape.count == 2, table.shape[1] == codeSize else {
            throw BottleneckError.file(codes, "codes have \(table.shape.count == 2 ? table.shape[1] : table.count) values per row, model '\(loaded.model.spec.name)' has a code of \(codeSize)")
        }
        let h = table.reshaped([table.shape[0]] + loaded.model.codeShape)
        let decoded = withoutGradients { loaded.model.decode(h) }
        if output.lowercased().hasSuffix(".png") {
            try writeSampleGrid(decoded, scaler: loaded.scaler, limit: 64, to: output)
        } else {
            try writeTable(try loaded.scaler.inverseTransform(decoded).reshaped([decoded.shape[0], -1]), labels: nil, to: output, columnPrefix: "x")
        }
        print("wrote \(output): \(decoded.shape[0]) decoded samples" + (output.lowercased().hasSuffix(".png") && decoded.shape[0] > 64 ? " (the first 64 shown)" : ""))
    }
}

/// Writes a [N, D] table as NPY (labels to <stem>.labels.npy) or CSV (label column first).
func writeTable(_ t: Tensor, labels: [Int]?, to path: String, columnPrefix: String) throws {
    let lower = path.lowercased()
    if lower.hasSuffix(".npy") {
        try NPYArray.write(t, to: path)
        if let labels {
            let stem = String(path.dropLast(4))
            try NPYArray.write(Tensor(shape: [labels.count], values: labels.map(Float.init)), to: stem + ".labels.npy")
        }
    } else if lower.hasSuffix(".csv") {
        let names = (0..<t.shape[1]).map { "\(columnPrefix)\($0)" }
        try CSV.write(t, columnNames: names, leading: labels.map { [(name: "label", cells: $0.map(String.init))] } ?? [], to: path)
    } else {
        throw BottleneckError("output \(path): use a .npy or .csv file name")
    }
}

/// Reads a numeric [N, D] table from NPY or CSV.
func readTable(_ path: String, ignoring: [String] = []) throws -> Tensor {
    if path.lowercased().hasSuffix(".npy") {
        let a = try NPYArray.read(path).tensor()
        return a.rank == 1 ? a.reshaped([1, -1]) : a.reshaped([a.shape[0], -1])
    }
    let csv = try CSV.read(path, header: true)
    let keep = csv.featureNames.enumerated().filter { !ignoring.contains($0.element) }.map(\.offset)
    let all = csv.dataset.inputs
    if keep.count == csv.featureNames.count { return all }
    let out = Tensor(shape: [all.shape[0], keep.count])
    for r in 0..<all.shape[0] { for (j, c) in keep.enumerated() { out.data[r * keep.count + j] = all.data[r * all.shape[1] + c] } }
    return out
}
