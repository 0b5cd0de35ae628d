import BottleneckCore
/// Sliding windows over a time series (rows are time steps, columns features).
public enum TimeSeries {
    /// Windows of `length` consecutive steps every `stride` steps of `series` [T, F]:
    /// a dataset [N, length, F] with N = (T - length) / stride + 1. Window i covers steps
    /// i * stride ..< i * stride + length (0-based), so results map back to rows of the file.
    /// Steps past the last whole window are left out.
    public static func windows(_ series: Tensor, length: Int, stride: Int, source: String = "time series") throws -> Dataset {
        guard series.rank == 2 else {
            throw BottleneckError("\(source): a time series must be [time steps, features], got \(formatShape(series.shape))")
        }
        guard length >= 1, stride >= 1 else {
            throw BottleneckError("window length and stride must be at least 1 (got length \(length), stride \(stride))")
        }
        let (steps, features) = (series.shape[0], series.shape[1])
        guard steps >= length else {
            throw BottleneckError("\(source): \(steps) time steps (rows) are too few for one window of \(length)")
        }
        let n = (steps - length) / stride + 1
        let out = Tensor(shape: [n, length, features], zeroed: false)
        let windowSize = length * features
        withExtendedLifetime(series) {
            for w in 0..<n { (out.data + w * windowSize).update(from: series.data + w * stride * features, count: windowSize) }
        }
        return Dataset(inputs: out, labels: nil, source: source)
    }

    /// Windows over a CSV time series; `drop` removes columns such as a timestamp. Returns the
    /// windows and the names of the feature columns.
    public static func loadWindows(csv path: String, length: Int, stride: Int, drop: [CSVColumn] = [],
                                   header: Bool? = nil) throws -> (dataset: Dataset, featureNames: [String]) {
        let table = try CSV.read(path, drop: drop, header: header)
        return (try windows(table.dataset.inputs, length: length, stride: stride, source: path), table.featureNames)
    }

    /// The first time step (0-based row of the series) of each window.
    public static func windowStarts(count: Int, stride: Int) -> [Int] { (0..<count).map { $0 * stride } }
}
