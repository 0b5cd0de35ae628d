import ArgumentParser
import Bottleneck
import Foundation

struct PCACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pca",
        abstract: "PCA baseline: the best linear reconstruction with k components (LAPACK ssyevd).",
        discussion: """
        A linear autoencoder with a k-dimensional code can at best match PCA with k components.
        With --compare, PCA is fitted and measured on the data scaled as the model's file says
        (its --scaling), so both errors and their ratio are in the model's scaled units.
        Examples:
          bottleneck pca --components 16
          bottleneck pca --components 16 --compare linear16.safetensors
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: [.customShort("k"), .long], help: "Number of components.") var components = 16
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Test data (default: Fashion-MNIST's test split when --data is not given).") var testData: String?
    @Option(name: .long, help: "A model file to compare against on the same test data.") var compare: String?

    func run() throws {
        let train = try DataSource.load(try dataOptions.request(), split: .train)
        let test = try DataSource.load(try dataOptions.request(path: testData ?? dataOptions.data), split: .test)
        try validateFinite(train)
        try validateFinite(test)
        let loaded = try compare.map { try TrainedModel.load($0, memoryLimit: memory.maxModelMemory) }
        try loaded?.checkFeatures(test)
        try loaded?.model.checkInput(test.sampleShape, source: test.source)
        // With a model, PCA sees the data as the model does: both errors in its scaled units.
        let baseline = try PCABaseline(components: components, train: train, test: test,
                                       scaler: loaded?.scaler ?? Scaler(.none), model: loaded?.model)
        let units = baseline.scaling == .none ? "" : " in the model's \(baseline.scaling.rawValue)-scaled units"
        print(String(format: "PCA k=%d: test MSE %.6f (train MSE %.6f)%@, %.1f%% of variance explained",
                     components, baseline.testMSE, baseline.trainMSE, units, 100 * baseline.explainedVarianceFraction))
        if let compare, let mse = baseline.modelTestMSE, let ratio = baseline.modelToPCARatio {
            print(String(format: "model %@: test MSE %.6f%@ (%.1f%% of PCA's)", compare, mse, units, 100 * ratio))
        }
    }
}
