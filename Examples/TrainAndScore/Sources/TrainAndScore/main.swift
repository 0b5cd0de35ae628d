// Trains a small autoencoder on one Fashion-MNIST class (trousers), saves it, loads the bundle
// back and scores the whole test set: images of the other classes rebuild worse, so the
// reconstruction error is an anomaly score. Everything goes through Bottleneck's public API.
import Bottleneck
import Foundation

func run(output: String) throws {
    let train = try FashionMNIST.load(.train), test = try FashionMNIST.load(.test)

    // A run as `bottleneck train --preset dense --code-size 16 --classes 1 --epochs 3` makes it.
    var config = TrainingConfig()
    config.epochs = 3
    var request = TrainingRequest(outputPath: output, architecture: try Preset.dense.spec(inputShape: train.sampleShape, codeSize: 16),
                                  config: config)
    request.classes = [1]
    let session = try TrainingSession(request, data: train)
    session.trainer.onEpoch = { print(String(format: "epoch %d: train loss %.5f", $0.epoch, $0.trainLoss)) }
    try session.run()

    // The model file is the whole bundle: architecture, weights, scaling, classes, history.
    let bundle = try TrainedModel.load(output)
    let data = try bundle.prepare(test)  // checked and scaled as in training
    let scores = try AnomalyScorer(model: bundle.model, score: .mse).scores(data)
    let normal = Set(bundle.classes ?? [])
    let anomalies = try labels(of: test).map { !normal.contains($0) }
    let auroc = try DetectionMetrics.auroc(scores: scores, anomalies: anomalies)
    print(String(format: "trained on classes %@ (%d epochs), test MSE %.5f, AUROC %.3f over %d test images",
                 "\(bundle.classes ?? [])", bundle.history.count, try evaluateReconstruction(bundle.model, on: data).mse, auroc, scores.count))
    // Trousers are easy to tell from the rest: far better than chance, or something is wrong.
    guard auroc > 0.85 else { throw BottleneckError("AUROC \(auroc) is no better than a broken model's") }
    // The report page, as `bottleneck report` writes it, from the library alone.
    var options = ReportOptions()
    options.tsne = false
    let page = ReportPage.html(try ModelReport(bundle: bundle, modelPath: output, data: data, options: options))
    guard page.contains("<section id=\"reconstructions\"") else { throw BottleneckError("the report has no reconstructions") }
    try page.write(toFile: output + ".html", atomically: true, encoding: .utf8)
    print("wrote \(output).html (\(page.utf8.count) bytes)")
}

func labels(of data: Dataset) throws -> [Int] {
    guard let labels = data.labels else { throw BottleneckError("\(data.source): no labels") }
    return labels
}

do {
    try run(output: CommandLine.arguments.dropFirst().first ?? "trousers.safetensors")
} catch {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
}
