import ArgumentParser
import Bottleneck
import Foundation

struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Linear probe: how well a softmax classifier reads the labels off a model's codes, vs raw values and PCA.",
        discussion: """
        Trains multinomial logistic regression (softmax on standardised features, L2 penalty chosen on
        held-out training data, full-batch L-BFGS to convergence) on the codes of the training data and
        reports accuracy on the test data; the same probe on the raw values and on PCA codes of the
        same size are the baselines.
        Examples:
          bottleneck probe --model conv32.safetensors                          # Fashion-MNIST train/test
          bottleneck probe --model conv32.safetensors --train-limit 10000 --baselines pca --l2 1e-3
          bottleneck probe --model tab.safetensors --data train.csv --test-data test.csv --label-column y
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file.") var model: String
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Test data (default: Fashion-MNIST's test split when --data is not given).") var testData: String?
    @Option(name: .long, help: "Baselines to probe too: comma list of raw, pca, or 'none'.") var baselines = "raw,pca"
    @Option(name: .long, help: "Use only the first N training samples.") var trainLimit: Int?
    @Option(name: .long, help: "Use only the first N test samples.") var testLimit: Int?
    @Option(name: .long, help: "Optimizer: lbfgs (full batch, to convergence) or adam (mini-batch).") var optimizer = ProbeConfig.Optimizer.lbfgs
    @Option(name: .long, help: "L2 penalty weight on the probe's weights (default: chosen from 1e-5, 1e-4, 1e-3, 1e-2 on a held-out tenth of the training data).") var l2: Float?
    @Option(name: .long, help: "L-BFGS iteration limit.") var maxIterations = ProbeConfig().maxIterations
    @Option(name: .long, help: "Adam: epochs.") var epochs = ProbeConfig().epochs
    @Option(name: .long, help: "Adam: initial learning rate.") var lr = ProbeConfig().learningRate
    @Option(name: .long, help: "Seed of the validation split (and Adam's batch order).") var seed: UInt64 = 0
    @Flag(name: .long, help: "Print the results as JSON.") var json = false

    func run() throws {
        var config = ProbeConfig()
        config.optimizer = optimizer
        config.l2 = l2
        config.maxIterations = maxIterations
        config.epochs = epochs
        config.learningRate = lr
        config.seed = seed
        try config.validate()
        let chosen = baselines == "none" ? [] : baselines.split(separator: ",").map { String($0) }
        for b in chosen where !["raw", "pca"].contains(b) { throw BottleneckError("--baselines: unknown '\(b)' (raw, pca or none)") }
        if testData == nil, let d = dataOptions.data, d != "fashion-mnist" {
            throw BottleneckError("--data \(d) needs --test-data too: the probe is measured on samples it was not trained on")
        }
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        let train = try LoadedSamples(dataOptions, split: .train, limit: trainLimit).data
        let test = try LoadedSamples(dataOptions, split: .test, path: testData ?? dataOptions.data, limit: testLimit).data
        guard let trainLabels = train.labels else { throw BottleneckError("\(train.source): the probe needs labels (--labels or --label-column)") }
        guard let testLabels = test.labels else { throw BottleneckError("\(test.source): the probe needs labels (--labels or --label-column)") }
        try loaded.checkFeatures(train)
        try loaded.checkFeatures(test)
        let codeModel = Embedder.model(loaded.model, loaded.scaler)
        var results: [ProbeResult] = []
        results.append(try LinearProbe.evaluate("codes (\(loaded.model.spec.name))", train: try codeModel.embed(train.inputs, source: train.source),
                                                trainLabels: trainLabels, test: try codeModel.embed(test.inputs, source: test.source),
                                                testLabels: testLabels, config: config))
        for b in chosen {
            let embedder: Embedder = b == "raw" ? .raw(sampleShape: train.sampleShape)
                : .pca(try PCA.fit(train.inputs.flattened(), components: min(codeModel.dimension, train.featureCount)))
            let name = b == "raw" ? "raw values" : "pca-\(embedder.dimension)"
            results.append(try LinearProbe.evaluate(name, train: try embedder.embed(train.inputs, source: train.source), trainLabels: trainLabels,
                                                    test: try embedder.embed(test.inputs, source: test.source), testLabels: testLabels, config: config))
        }
        if json { print(try prettyJSON(results)); return }
        print("linear probe (\(config.optimizer.rawValue)): \(train.count) training, \(test.count) test samples"
              + (config.l2 == nil ? ", L2 penalty chosen on a held-out tenth" : ", L2 penalty \(config.l2!)"))
        print("representation        features      l2  steps  train acc  test acc  seconds")
        for r in results {
            print(r.representation.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + String(format: "  %8d  %6.0e  %5d  %9.4f  %8.4f  %7.1f", r.features, r.l2, r.steps, r.trainAccuracy, r.testAccuracy, r.seconds))
        }
    }
}
