import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// Principal component analysis: the covariance matrix by one GEMM, its eigen-decomposition by
/// LAPACK (`SymmetricEigen`). The k leading components give the best k-dimensional linear
/// reconstruction, the optimum a linear autoencoder can reach.
public struct PCA {
    public let mean: Tensor          // [d]
    public let components: Tensor    // [k, d], rows orthonormal, largest variance first
    public let explainedVariance: [Float]

    public var dimension: Int { mean.count }
    public var componentCount: Int { components.shape[0] }

    /// Fits k components to the rows of `data` ([N, ...] is flattened per sample).
    public static func fit(_ data: Tensor, components k: Int) throws -> PCA {
        let n = data.shape[0], d = data.count / max(n, 1)
        guard k >= 1, k <= d else { throw BottleneckError.invalid(.components, "must be in 1...\(d) for PCA, got \(k)") }
        guard n >= 2 else { throw BottleneckError("PCA needs at least 2 samples, got \(n)") }
        let mean = Tensor(shape: [d])
        var acc = [Double](repeating: 0, count: d)
        for r in 0..<n { let row = data.data + r * d; for j in 0..<d { acc[j] += Double(row[j]) } }
        for j in 0..<d { mean.data[j] = Float(acc[j] / Double(n)) }
        let centered = Tensor(shape: [n, d], zeroed: false)
        for r in 0..<n { for j in 0..<d { centered.data[r * d + j] = data.data[r * d + j] - mean.data[j] } }
        // Covariance C = X^T X / (n - 1), [d, d], symmetric.
        let cov = Tensor(shape: [d, d])
        sgemm(transA: true, m: d, n: d, k: n, alpha: 1 / Float(n - 1), a: centered.data, lda: d, b: centered.data, ldb: d, c: cov.data, ldc: d)
        let eigen = try SymmetricEigen(cov)
        let w = eigen.values
        let comps = Tensor(shape: [k, d], zeroed: false)
        for c in 0..<k { (comps.data + c * d).update(from: eigen.vectors.data + (d - 1 - c) * d, count: d) }
        return PCA(mean: mean, components: comps, explainedVariance: (0..<k).map { w[d - 1 - $0] })
    }

    /// Codes [N, k] = (x - mean) V^T.
    public func encode(_ data: Tensor) -> Tensor {
        let n = data.shape[0], d = dimension
        let centered = Tensor(shape: [n, d], zeroed: false)
        for r in 0..<n { for j in 0..<d { centered.data[r * d + j] = data.data[r * d + j] - mean.data[j] } }
        return withoutGradients { centered.matmul(components.transposed()) }
    }

    /// Reconstructions [N, d] = codes V + mean.
    public func decode(_ codes: Tensor) -> Tensor {
        withoutGradients { codes.matmul(components) + mean }
    }

    /// Mean squared reconstruction error over every value of `data`.
    public func reconstructionMSE(_ data: Tensor) -> Double {
        let flat = data.reshaped([data.shape[0], dimension])
        return SampleMetrics.mean(.mse, decode(encode(flat)), flat)
    }
}

/// PCA as a model's baseline, with both errors in one unit: PCA is fitted and measured on the data
/// scaled as the model sees it (the model's own scaler), so the errors and their ratio are all in
/// the model's scaled units. PCA on the scaled data is also the optimum a linear autoencoder
/// trained on them can reach.
public struct PCABaseline: Codable, Equatable {
    /// The number of principal components kept.
    public var components: Int
    /// The scaling applied to the data before PCA and the model, the unit of every error here
    /// (`.none` for one that leaves values unchanged).
    public var scaling: Scaler.Kind
    /// PCA's mean squared reconstruction error on the training data.
    public var trainMSE: Double
    /// PCA's mean squared reconstruction error on the test data.
    public var testMSE: Double
    /// The fraction of the training data's total variance the components explain.
    public var explainedVarianceFraction: Double
    /// The model's mean squared error on the same scaled test data (nil without a model).
    public var modelTestMSE: Double?

    /// The model's test MSE over PCA's (1: as good as PCA; nil without a model).
    public var modelToPCARatio: Double? { modelTestMSE.map { $0 / testMSE } }

    /// Fits `components` components to `train` and measures them on `test`, both scaled by
    /// `scaler`; with a `model` (trained with that scaler), also the model on the scaled test data.
    public init(components: Int, train: Dataset, test: Dataset, scaler: Scaler = Scaler(.none), model: Autoencoder? = nil) throws {
        // An identity scaling (none, or the fixed range [0, 1]) would only copy the data.
        let identity = scaler.kind == .none || (scaler.kind == .fixedRange && scaler.shift == [0] && scaler.divisor == [1])
        let scaledTrain = (identity ? train.inputs : try scaler.transform(train.inputs)).flattened()
        let scaledTest = identity ? test : try scaler.transform(test)
        let pca = try PCA.fit(scaledTrain, components: components)
        guard test.featureCount == pca.dimension else {
            throw BottleneckError("\(test.source): \(test.featureCount) features per sample, training data had \(pca.dimension)")
        }
        self.components = components
        scaling = identity ? .none : scaler.kind
        trainMSE = pca.reconstructionMSE(scaledTrain)
        testMSE = pca.reconstructionMSE(scaledTest.inputs.flattened())
        explainedVarianceFraction = Double(pca.explainedVariance.reduce(0, +)) / totalVariance(scaledTrain)
        modelTestMSE = try model.map { try evaluateReconstruction($0, on: scaledTest).mse }
    }
}

/// The sum over features of the sample variances (n - 1) of the rows of `x` [N, D].
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
