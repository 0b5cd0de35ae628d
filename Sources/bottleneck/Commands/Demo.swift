import ArgumentParser
import Bottleneck
import Foundation

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train the conv autoencoder on Fashion-MNIST for one epoch; write the model, a reconstruction grid and metrics.",
        discussion: "Example:\n  bottleneck demo --output-dir demo-output")

    @Option(name: .long, help: "Folder for the model, grid and metrics.") var outputDir = "demo-output"
    @Option(name: .long, help: "Epochs.") var epochs = 1
    @Option(name: .long, help: "Seed.") var seed: UInt64 = 0

    func run() throws {
        try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true)
        let modelPath = outputDir + "/conv.safetensors"
        let log = outputDir + "/training-log.jsonl"
        let train = try Train.parse(["--preset", "conv", "--epochs", String(epochs), "--seed", String(seed), "--output", modelPath, "--log", log])
        try train.run()

        let loaded = try TrainedModel.load(modelPath)
        let test = try loaded.data(try DataOptions.parse([]))
        let metrics = try evaluateReconstruction(loaded.model, on: test)
        try writeText(try prettyJSON(metrics) + "\n", to: outputDir + "/metrics.json")
        let x = test.inputs.rows(0, 16)
        try writeComparisonGrid(rows: [x, withoutGradients { loaded.model(x) }], scaler: loaded.scaler, to: outputDir + "/reconstructions.png")
        print(String(format: "test MSE %.5f  PSNR %.2f dB  (Fashion-MNIST test set, %d images)", metrics.mse, metrics.psnr, metrics.samples))
        print("wrote \(modelPath), \(outputDir)/reconstructions.png, \(outputDir)/metrics.json, \(outputDir)/training-log.jsonl")
    }
}
