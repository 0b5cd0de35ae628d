import Foundation
import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// `SampleMetrics` against direct Double computations of each term, edge cases included.
final class SampleMetricsTests: XCTestCase {
    /// The elementwise terms, written out in Double: BCE with each log clamped at -100.
    static func directTerm(_ kind: LossKind, _ p: Float, _ t: Float) -> Double {
        let p = Double(p), t = Double(t)
        switch kind {
        case .mse, .rmse: return (p - t) * (p - t)
        case .l1: return Swift.abs(p - t)
        case .bce: return -(t * max(Foundation.log(p), -100) + (1 - t) * max(Foundation.log(1 - p), -100))
        case .bceLogits: return max(p, 0) - p * t + Foundation.log1p(Foundation.exp(-Swift.abs(p)))
        }
    }

    /// [N, D] predictions and targets fit for `kind`: probabilities for bce, logits for bce-logits.
    func batch(_ kind: LossKind, samples n: Int, values d: Int, seed: UInt64) -> (Tensor, Tensor) {
        let rng = RandomGenerator(seed: seed)
        let target = Tensor.uniform([n, d], low: 0, high: 1, rng: rng)
        switch kind {
        case .bce: return (Tensor.uniform([n, d], low: 0.01, high: 0.99, rng: rng), target)
        case .bceLogits: return (Tensor.normal([n, d], rng: rng) * 4, target)
        default: return (Tensor.normal([n, d], rng: rng), Tensor.normal([n, d], rng: rng))
        }
    }

    func testPerSampleAndPooledErrorsMatchDirectComputation() {
        // 13 values per sample: one full vector of eight and a tail.
        for kind in LossKind.allCases {
            let (p, t) = batch(kind, samples: 5, values: 13, seed: 11)
            let sums = SampleMetrics.perSampleSum(kind, p, t), errors = SampleMetrics.perSample(kind, p, t)
            XCTAssertEqual(sums.count, 5)
            var all = 0.0
            for i in 0..<5 {
                let direct = (0..<13).reduce(0.0) { $0 + Self.directTerm(kind, p.data[i * 13 + $1], t.data[i * 13 + $1]) }
                all += direct
                XCTAssertEqual(sums[i], direct, accuracy: 1e-5 * max(1, direct), "\(kind) sample \(i) sum")
                let mean = direct / 13
                XCTAssertEqual(errors[i], kind == .rmse ? mean.squareRoot() : mean, accuracy: 1e-5 * max(1, mean), "\(kind) sample \(i)")
            }
            let pooled = all / 65
            XCTAssertEqual(SampleMetrics.mean(kind, p, t), kind == .rmse ? pooled.squareRoot() : pooled, accuracy: 1e-5 * max(1, pooled), "\(kind)")
            // The training loss gives the same figure on the same values.
            XCTAssertEqual(Double(reconstructionLoss(kind, p, t).item), SampleMetrics.mean(kind, p, t), accuracy: 1e-5 * max(1, pooled), "\(kind) loss")
        }
    }

    /// Probabilities 0 and 1: each log is clamped at -100 (the training loss's rule), so a sure and
    /// wrong prediction costs 100 nats, a sure and right one 0, and nothing is infinite or NaN.
    func testBCEAtProbabilitiesZeroAndOne() {
        let p = Tensor(shape: [1, 6], values: [0, 0, 1, 1, 0.5, 1e-45])
        let t = Tensor(shape: [1, 6], values: [0, 1, 0, 1, 0.3, 1])
        let expected: [Double] = [0, 100, 100, 0, -(0.3 * log(0.5) + 0.7 * log(0.5)), 100]
        for j in 0..<6 {
            let one = SampleMetrics.termSum(.bce, p.data + j, t.data + j, count: 1)
            XCTAssertEqual(one, expected[j], accuracy: 1e-4, "p \(p.data[j]), t \(t.data[j])")
            XCTAssertEqual(one, Self.directTerm(.bce, p.data[j], t.data[j]), accuracy: 1e-4)
        }
        XCTAssertEqual(SampleMetrics.perSampleSum(.bce, p, t)[0], expected.reduce(0, +), accuracy: 1e-3)
        XCTAssertEqual(Double(bceLoss(p, t, reduction: .sum).item), expected.reduce(0, +), accuracy: 1e-3, "the training loss agrees")
        // Saturated logits stay finite and exact: x = 50 with t = 0 costs 50 nats, with t = 1 about e^-50.
        let x = Tensor(shape: [1, 4], values: [50, 50, -50, -50]), y = Tensor(shape: [1, 4], values: [0, 1, 0, 1])
        let logits = (0..<4).map { SampleMetrics.termSum(.bceLogits, x.data + $0, y.data + $0, count: 1) }
        XCTAssertEqual(logits[0], 50, accuracy: 1e-4)
        XCTAssertEqual(logits[1], 0, accuracy: 1e-6)
        XCTAssertEqual(logits[2], 0, accuracy: 1e-6)
        XCTAssertEqual(logits[3], 50, accuracy: 1e-4)
    }

    /// Per-feature errors of [N, T, F] windows: each feature's term averaged over the steps, and
    /// their mean over features is the sample's error (mse, l1).
    func testPerFeatureErrorsOfWindows() {
        let rng = RandomGenerator(seed: 5)
        let p = Tensor.normal([3, 4, 5], rng: rng), t = Tensor.normal([3, 4, 5], rng: rng)
        for kind in [LossKind.mse, .l1, .rmse] {
            let fe = SampleMetrics.perFeature(kind, p, t)
            XCTAssertEqual(fe.shape, [3, 5])
            let perSample = SampleMetrics.perSample(kind, p, t)
            for i in 0..<3 {
                for j in 0..<5 {
                    let mean = (0..<4).reduce(0.0) { $0 + Self.directTerm(kind, p.data[(i * 4 + $1) * 5 + j], t.data[(i * 4 + $1) * 5 + j]) } / 4
                    XCTAssertEqual(Double(fe.data[i * 5 + j]), kind == .rmse ? mean.squareRoot() : mean, accuracy: 1e-5 * max(1, mean))
                }
                if kind != .rmse {
                    let meanOfFeatures = (0..<5).reduce(0.0) { $0 + Double(fe.data[i * 5 + $1]) } / 5
                    XCTAssertEqual(meanOfFeatures, perSample[i], accuracy: 1e-5 * max(1, perSample[i]))
                }
            }
        }
    }

    func testGaussianKLPerSampleAndAgainstTheTrainingTerm() {
        let rng = RandomGenerator(seed: 8)
        let mean = Tensor.normal([4, 3], rng: rng), logVariance = Tensor.normal([4, 3], rng: rng)
        let kl = SampleMetrics.gaussianKL(mean: mean, logVariance: logVariance)
        for i in 0..<4 {
            let direct = (0..<3).reduce(0.0) { acc, j in
                let m = Double(mean.data[i * 3 + j]), lv = Double(logVariance.data[i * 3 + j])
                return acc - 0.5 * (1 + lv - m * m - Foundation.exp(lv))
            }
            XCTAssertEqual(kl[i], direct, accuracy: 1e-5 * max(1, direct))
        }
        // N(0, I) itself is 0 nats away.
        XCTAssertEqual(SampleMetrics.gaussianKL(mean: Tensor.zeros([2, 3]), logVariance: Tensor.zeros([2, 3])), [0, 0])
        XCTAssertEqual(Double(gaussianKL(mu: mean, logvar: logVariance).item), kl.reduce(0, +) / 4, accuracy: 1e-5)
        // Negative ELBO: the scaled reconstruction sums plus the KL, sample by sample.
        let p = Tensor.normal([4, 5], rng: rng), t = Tensor.normal([4, 5], rng: rng)
        let elbo = SampleMetrics.negativeELBO(.mse, scale: 0.5, prediction: p, target: t, kl: kl)
        for i in 0..<4 {
            let squares = (0..<5).reduce(0.0) { $0 + Self.directTerm(.mse, p.data[i * 5 + $1], t.data[i * 5 + $1]) }
            XCTAssertEqual(elbo[i], 0.5 * squares + kl[i], accuracy: 1e-5 * max(1, elbo[i]))
        }
    }

    func testPSNR() {
        let rng = RandomGenerator(seed: 1)
        let a = Tensor.uniform([2, 1, 4, 4], low: 0, high: 0.9, rng: rng)
        // Identical images: the error's 1e-12 floor gives a finite 120 dB.
        XCTAssertEqual(psnr(a, a.copy()), 120, accuracy: 1e-9)
        XCTAssertEqual(SampleMetrics.psnr(mse: 0), 120, accuracy: 1e-9)
        // Off by 0.1 everywhere: MSE 0.01, 20 dB.
        let b = a + 0.1
        XCTAssertEqual(meanSquaredError(a, b), 0.01, accuracy: 1e-7)
        XCTAssertEqual(psnr(a, b), 20, accuracy: 1e-4)
        XCTAssertEqual(SampleMetrics.psnr(mse: 1), 0)
        XCTAssertEqual(SampleMetrics.mse(psnr: SampleMetrics.psnr(mse: 0.0042)), 0.0042, accuracy: 1e-12)
    }

    func testSquaredErrorsOverMasksAndBytes() {
        let a = Tensor([0.1, 0.5, 0.9, 0.2]), b = Tensor([0.3, 0.5, 0.4, 1.0])
        let masked = SampleMetrics.squaredErrorSum(a.data, b.data, where: [true, false, true, false])
        XCTAssertEqual(masked.count, 2)
        XCTAssertEqual(masked.sum, 0.04 + 0.25, accuracy: 1e-6)
        let x: [UInt8] = [0, 255, 10, 200], y: [UInt8] = [255, 255, 20, 190]
        let bytes = x.withUnsafeBufferPointer { px in y.withUnsafeBufferPointer { SampleMetrics.squaredErrorSum(px, $0) } }
        let squares: Double = 255 * 255 + 100 + 100
        XCTAssertEqual(bytes, squares / (255 * 255), accuracy: 1e-12)
        // 8-bit rounding as the PNGs written: 0.5 rounds to 128/255, out-of-range values clip.
        let images = Tensor([0.5, 1.2, -0.1, 0.25]), reference = Tensor([0.5, 1, 0, 0.25])
        let errors: [Double] = [128.0 / 255 - 0.5, 0, 0, 64.0 / 255 - 0.25]
        let direct = errors.map { $0 * $0 }.reduce(0, +) / 4
        XCTAssertEqual(ImageCodecBaseline.eightBitMSE(images, reference), direct, accuracy: 1e-9)
    }
}
