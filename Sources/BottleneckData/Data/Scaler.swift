import Foundation
import BottleneckCore

/// Per-feature scaling, fitted on training data only and stored with the model (Codable, JSON).
/// A value x of feature f becomes (x - shift[f]) / divisor[f].
///
/// Features lie along `featureAxis`, counted from the end of the shape so that a batch [N, F], a
/// series [T, F] and its windows [N, window, F] all share one fit (-1, the default). For per-channel
/// image statistics on [N, C, H, W] use -3. Image loaders already give [0, 1] (bytes / 255), which is
/// the natural range for images: use `.none` for them, or `fixedRange(min: 0, max: 255)` for raw bytes.
public struct Scaler: Codable, Equatable {
    public enum Kind: String, Codable, CaseIterable {
        /// Values pass unchanged.
        case none
        /// Min-max to [0, 1] per feature (a constant feature becomes 0).
        case unit
        /// Zero mean, unit variance per feature (population std; a std of 0 counts as 1).
        case standard
        /// One fixed range [min, max] -> [0, 1] for all values, no fitting.
        case fixedRange
    }

    public private(set) var kind: Kind
    /// The feature axis, negative: counted from the end of the shape.
    public private(set) var featureAxis: Int
    public private(set) var shift: [Float]
    public private(set) var divisor: [Float]

    public init(_ kind: Kind = .none, featureAxis: Int = -1) {
        precondition(kind != .fixedRange, "use Scaler.fixedRange(min:max:)")
        self.kind = kind
        self.featureAxis = featureAxis
        shift = []
        divisor = []
    }

    public static func fixedRange(min: Float, max: Float) -> Scaler {
        precondition(max > min, "fixedRange needs max > min")
        var s = Scaler(.none)
        s.kind = .fixedRange
        s.shift = [min]
        s.divisor = [max - min]
        return s
    }

    /// True when `transform` can run: `.none`, a fixed range, or a fitted scaler.
    public var isFitted: Bool { kind == .none || !shift.isEmpty }

    /// A scaler of `kind` fitted to `train` [N, ...].
    public static func fitted(_ kind: Kind, to train: Tensor, featureAxis: Int = -1, source: String = "training data") throws -> Scaler {
        var s = Scaler(kind, featureAxis: featureAxis)
        try s.fit(train, source: source)
        return s
    }

    /// Computes the statistics of `train` [N, ...] (samples first). `featureAxis` may have been
    /// given as a positive axis of `train`; it is stored counted from the end.
    public mutating func fit(_ train: Tensor, source: String = "training data") throws {
        guard kind == .unit || kind == .standard else { return }
        let rank = train.rank
        let axis = featureAxis >= 0 ? featureAxis - rank : featureAxis
        guard rank >= 2, axis >= -(rank - 1), axis < 0 else {
            throw BottleneckError("\(source): cannot fit a scaler with feature axis \(featureAxis) to data of shape \(formatShape(train.shape)) (samples are axis 0)")
        }
        guard train.shape[0] > 0 else { throw BottleneckError("\(source): cannot fit a scaler to no samples") }
        try validateFinite(train, source: source)
        featureAxis = axis
        let (outer, f, inner) = layout(train.shape)
        var lo = [Double](repeating: .infinity, count: f), hi = [Double](repeating: -.infinity, count: f)
        var sum = [Double](repeating: 0, count: f), sumSq = [Double](repeating: 0, count: f)
        withExtendedLifetime(train) {
            var p = train.data
            for _ in 0..<outer {
                for j in 0..<f {
                    var s = 0.0, s2 = 0.0, mn = lo[j], mx = hi[j]
                    for i in 0..<inner {
                        let v = Double(p[i])
                        s += v; s2 += v * v
                        mn = Swift.min(mn, v); mx = Swift.max(mx, v)
                    }
                    sum[j] += s; sumSq[j] += s2; lo[j] = mn; hi[j] = mx
                    p += inner
                }
            }
        }
        let count = Double(outer * inner)
        switch kind {
        case .unit:
            shift = lo.map(Float.init)
            divisor = (0..<f).map { hi[$0] > lo[$0] ? Float(hi[$0] - lo[$0]) : 1 }
        default:
            let mean = sum.map { $0 / count }
            shift = mean.map(Float.init)
            divisor = (0..<f).map { j in
                let variance = Swift.max(0, sumSq[j] / count - mean[j] * mean[j])
                let std = variance.squareRoot()
                // Spread below float noise is a constant feature.
                return std > 1e-12 * Swift.max(1, abs(mean[j])) ? Float(std) : 1
            }
        }
    }

    /// (x - shift) / divisor, per feature; a new tensor with no gradient history.
    public func transform(_ x: Tensor) throws -> Tensor { try apply(x, inverse: false) }

    /// x * divisor + shift: back to the original units.
    public func inverseTransform(_ x: Tensor) throws -> Tensor { try apply(x, inverse: true) }

    /// The dataset with its inputs transformed.
    public func transform(_ dataset: Dataset) throws -> Dataset {
        var scaled = dataset
        scaled.inputs = try transform(dataset.inputs)
        return scaled
    }

    public func jsonString() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public static func fromJSON(_ text: String, source: String = "scaler") throws -> Scaler {
        let s: Scaler
        do { s = try JSONDecoder().decode(Scaler.self, from: Data(text.utf8)) } catch {
            throw BottleneckError("\(source): not a valid scaler description: \(text.prefix(80))")
        }
        guard s.shift.count == s.divisor.count, s.featureAxis < 0, s.divisor.allSatisfy({ $0 != 0 && $0.isFinite }),
              s.kind != .fixedRange || s.shift.count == 1 else {
            throw BottleneckError("\(source): inconsistent scaler description: \(text.prefix(80))")
        }
        return s
    }

    // MARK: Private

    /// The shape seen as [outer, features, inner] around the feature axis.
    private func layout(_ shape: [Int]) -> (outer: Int, features: Int, inner: Int) {
        let a = shape.count + featureAxis
        return (shape[..<a].reduce(1, *), shape[a], shape[(a + 1)...].reduce(1, *))
    }

    private func apply(_ x: Tensor, inverse: Bool) throws -> Tensor {
        guard kind != .none else { return x.copy() }
        guard isFitted else { throw BottleneckError("the \(kind.rawValue) scaler is used before being fitted to training data") }
        let out = Tensor(shape: x.shape, zeroed: false)
        if kind == .fixedRange {
            let (s, d) = (shift[0], divisor[0])
            withExtendedLifetime(x) {
                for i in 0..<x.count { out.data[i] = inverse ? x.data[i] * d + s : (x.data[i] - s) / d }
            }
            return out
        }
        guard x.rank >= -featureAxis, x.shape[x.rank + featureAxis] == shift.count else {
            throw BottleneckError("the scaler was fitted to \(shift.count) features on axis \(featureAxis) (from the end), the data has shape \(formatShape(x.shape))")
        }
        let (outer, f, inner) = layout(x.shape)
        withExtendedLifetime(x) {
            var p = x.data, q = out.data
            for _ in 0..<outer {
                for j in 0..<f {
                    let s = shift[j], d = divisor[j]
                    if inverse { for i in 0..<inner { q[i] = p[i] * d + s } } else { for i in 0..<inner { q[i] = (p[i] - s) / d } }
                    p += inner; q += inner
                }
            }
        }
        return out
    }
}

/// Throws if the dataset holds NaN or an infinity, naming its source and the first bad place.
public func validateFinite(_ dataset: Dataset) throws {
    try validateFinite(dataset.inputs, source: dataset.source)
}

/// Samples are rows along axis 0. Rows and columns are counted from 1; for samples of rank > 1
/// the position inside the sample is 0-based, as indices of the sample's shape.
public func validateFinite(_ tensor: Tensor, source: String) throws {
    let found: Int? = withExtendedLifetime(tensor) {
        let p = tensor.data
        for i in 0..<tensor.count where !p[i].isFinite { return i }
        return nil
    }
    guard let i = found else { return }
    let v = tensor.data[i]
    let what = v.isNaN ? "NaN" : v > 0 ? "+infinity" : "-infinity"
    let sample = Array(tensor.shape.dropFirst())
    let perSample = Swift.max(1, sample.reduce(1, *))
    let (row, k) = (i / perSample, i % perSample)
    let place: String
    switch sample.count {
    case 0: place = tensor.rank == 0 ? "the value" : "row \(row + 1)"
    case 1: place = "row \(row + 1), column \(k + 1)"
    default:
        var index: [Int] = [], rest = k
        for d in sample.reversed() { index.insert(rest % d, at: 0); rest /= d }
        place = "sample \(row + 1), element \(formatShape(index))"
    }
    throw BottleneckError("\(source): \(place) is \(what): data must be finite numbers")
}
