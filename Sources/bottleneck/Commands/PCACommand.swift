import ArgumentParser
import Bottleneck
import Foundation

struct PCACommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pca",
        abstract: "PCA baseline: the best linear reconstruction with k components (LAPACK ssyevd).",
        discussion: """
        A linear autoencoder with a k-dimensional code can at best match PCA with k components.
        Examples:
          bottleneck pca --components 16
          bottleneck pca --components 16 --compare linear16.safetensors
        """)

    @Option(name: [.customShort("k"), .long], help: "Number of components.") var components = 16
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Test data (default: Fashion-MNIST's test split when --data is not given).") var testData: String?
    @Option(name: .long, help: "A model file to compare against on the same test data.") var compare: String?

    func run() throws {
        let train = try DataSource.load(try dataOptions.request(), split: .train)
        let test = try DataSource.load(try dataOptions.request(path: testData ?? dataOptions.data), split: .test)
        try validateFinite(train)
        let pca = try PCA.fit(train.inputs.flattened(), components: components)
        guard test.featureCount == pca.dimension else {
            throw BottleneckError("\(test.source): \(test.featureCount) features per sample, training data had \(pca.dimension)")
        }
        let mse = pca.reconstructionMSE(test.inputs.flattened())
        print(String(format: "PCA k=%d: test MSE %.6f (train MSE %.6f), %.1f%% of variance explained",
                     components, mse, pca.reconstructionMSE(train.inputs.flattened()),
                     100 * Double(pca.explainedVariance.reduce(0, +)) / totalVariance(train.inputs.flattened())))
        if let compare {
            let loaded = try TrainedModel.load(compare)
            let data = try loaded.data(dataOptions, path: testData ?? dataOptions.data)
            let m = try evaluateReconstruction(loaded.model, on: data)
            print(String(format: "model %@: test MSE %.6f (%.1f%% of PCA's)", compare, m.mse, 100 * m.mse / mse))
        }
    }
}

func totalVariance(_ x: Tensor) -> Double {
    let n = x.shape[0], d = x.shape[1]
    var total = 0.0
    for j in 0..<d {
        var s = 0.0, s2 = 0.0
        for i in 0..<n { let v = Double(x.data[i * d + j]); s += v; s2 += v * v }
        total += (s2 - s * s / Double(n)) / Double(n - 1)
    }
    return total
}
