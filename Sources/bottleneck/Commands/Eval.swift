import ArgumentParser
import Bottleneck
import Foundation

extension TrainedModel {
    /// `split`'s data from the options (Fashion-MNIST's test split by default), checked and
    /// scaled as the model was trained.
    func data(_ options: DataOptions, split: FashionMNIST.Split = .test, path: String? = nil) throws -> Dataset {
        try prepare(try DataSource.load(try options.request(path: path), split: split))
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reconstruction quality of a model on test data: MSE, RMSE, PSNR, L1, BCE.",
        discussion: """
        Examples:
          bottleneck eval --model dense.safetensors                 # Fashion-MNIST test set
          bottleneck eval --model m.safetensors --data test.csv --json
          bottleneck eval --model cae.safetensors --split train --objective   # the training loss
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file.") var model: String
    @OptionGroup var dataOptions: DataOptions
    @Flag(name: .long, help: "Print the metrics as JSON.") var json = false
    @Option(name: .long, help: "Fashion-MNIST split to evaluate on when no --data is given: test (default) or train.") var split = FashionMNIST.Split.test
    @Flag(name: .long, help: "Also print the model's training objective on the data (reconstruction loss plus its variant's terms).") var objective = false
    @Flag(name: .long, help: "Each sample's errors as CSV (index, label, mse, l1, and bce for data in [0, 1]), to compare a model across runtimes.") var perSample = false
    @Option(name: [.short, .long], help: "With --per-sample: the CSV file (default: standard output).") var output: String?

    func validate() throws {
        if output != nil && !perSample { throw ValidationError("-o/--output writes the --per-sample CSV: add --per-sample") }
        if let output, !output.lowercased().hasSuffix(".csv") { throw ValidationError("-o/--output \(output): use a .csv file name") }
    }

    func run() throws {
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        if let output { try checkWritable(output, flag: "-o/--output") }
        let data = try loaded.data(dataOptions, split: split)
        if perSample { return try writePerSample(loaded, data) }
        var m = try evaluateReconstruction(loaded.model, on: data)
        if objective {
            let model = loaded.model
            let o = try Variants.objective(model.spec.variant, model: model, loss: loaded.training?.loss ?? .mse, rng: RandomGenerator(seed: 0))
            m.objective = objectiveLoss(o, model: model, on: data)
        }
        if json { print(try prettyJSON(m)); return }
        print("samples \(m.samples)")
        print(String(format: "mse   %.6f\nrmse  %.6f\npsnr  %.2f dB\nl1    %.6f", m.mse, m.rmse, m.psnr, m.l1))
        if let bce = m.bce { print(String(format: "bce   %.6f", bce)) }
        if let o = m.objective { print(String(format: "objective %.8f", o)) }
        if let e = m.negativeELBO { print(String(format: "-elbo %.2f per sample (KL %.2f)", e, m.kl ?? 0)) }
    }

    func writePerSample(_ loaded: TrainedModel, _ data: Dataset) throws {
        let e = try reconstructionErrorsPerSample(loaded.model, on: data)
        var csv = "index,label,mse,l1" + (e.bce != nil ? ",bce" : "") + "\n"
        for i in 0..<data.count {
            csv += "\(i),\(data.labels.map { String($0[i]) } ?? ""),\(String(format: "%.9g", e.mse[i])),\(String(format: "%.9g", e.l1[i]))"
                + (e.bce.map { String(format: ",%.9g", $0[i]) } ?? "") + "\n"
        }
        if let output {
            try writeText(csv, to: output)
            print("wrote \(output): \(data.count) samples of \(data.source)")
        } else {
            print(csv, terminator: "")
        }
    }
}
