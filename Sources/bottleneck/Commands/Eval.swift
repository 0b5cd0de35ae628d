import ArgumentParser
import Bottleneck
import Foundation

/// Loads a model file and the data to run it on, scaled as the model was trained.
struct LoadedModel {
    let model: Autoencoder
    let file: ModelFile
    let scaler: Scaler

    init(path: String) throws {
        (model, file, _) = try ModelFile.load(path)
        scaler = try file.document("scaling", as: Scaler.self, source: path) ?? Scaler(.none)
    }

    /// `split`'s data from the options (Fashion-MNIST's test split by default), checked and scaled.
    func data(_ options: DataOptions, split: FashionMNIST.Split = .test, path: String? = nil) throws -> Dataset {
        var d = try DataSource.load(try options.request(path: path), split: split)
        try validateFinite(d)
        try model.checkInput(d.sampleShape, source: d.source)
        d.inputs = try scaler.transform(d.inputs)
        return d
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reconstruction quality of a model on test data: MSE, RMSE, PSNR, L1, BCE.",
        discussion: """
        Examples:
          bottleneck eval --model dense.safetensors                 # Fashion-MNIST test set
          bottleneck eval --model m.safetensors --data test.csv --json
        """)

    @Option(name: .long, help: "Model file.") var model: String
    @OptionGroup var dataOptions: DataOptions
    @Flag(name: .long, help: "Print the metrics as JSON.") var json = false

    func run() throws {
        let loaded = try LoadedModel(path: model)
        let data = try loaded.data(dataOptions)
        let m = try evaluateReconstruction(loaded.model, on: data)
        if json { print(try prettyJSON(m)); return }
        print("samples \(m.samples)")
        print(String(format: "mse   %.6f\nrmse  %.6f\npsnr  %.2f dB\nl1    %.6f", m.mse, m.rmse, m.psnr, m.l1))
        if let bce = m.bce { print(String(format: "bce   %.6f", bce)) }
        if let e = m.negativeELBO { print(String(format: "-elbo %.2f per sample (KL %.2f)", e, m.kl ?? 0)) }
    }
}
