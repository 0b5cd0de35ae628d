import ArgumentParser
import Bottleneck

/// The data flags every command shares.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Data: 'fashion-mnist' (default), an IDX file, a .csv, a .npy, or a folder of PNG/JPEG images.")
    var data: String?

    @Option(name: .long, help: "Labels file for IDX or NPY data.")
    var labels: String?

    @Option(name: .long, help: "CSV: the column holding labels (by name).")
    var labelColumn: String?

    @Option(name: .long, help: "Images: resize to HxW, e.g. 32x32 (default: all images must share one size).", transform: parseImageSize)
    var imageSize: [Int]?

    @Flag(name: .long, help: "Images: keep colour (RGB) instead of converting to grayscale.")
    var color = false

    @Option(name: .long, help: "Time series CSV: cut into windows of this many rows.")
    var window: Int?

    @Option(name: .long, help: "Time series: rows between window starts.")
    var stride: Int = 1

    @Flag(name: .long, inversion: .prefixedNo,
          help: "CSV: the first row is (or is not) a header. Default: it is a header when none of its cells is a number, data when none is text; a first row of both is an error naming the cells.")
    var header: Bool?

    func validate() throws {
        if let w = window, w < 2 { throw ValidationError("--window must be at least 2, got \(w)") }
        if stride < 1 { throw ValidationError("--stride must be at least 1, got \(stride)") }
    }

    func request(path: String? = nil) throws -> DataRequest {
        var r = DataRequest(path: path ?? data)
        r.labels = labels
        r.labelColumn = labelColumn
        r.color = color
        r.window = window
        r.stride = stride
        r.imageSize = imageSize
        r.csvHeader = header
        return r
    }
}

/// "32x32" as [32, 32].
private func parseImageSize(_ s: String) throws -> [Int] {
    let parts = s.lowercased().split(separator: "x").map { Int($0) }
    guard parts.count == 2, let h = parts[0], let w = parts[1], h > 0, w > 0 else {
        throw ValidationError("expected HxW in pixels, e.g. 32x32")
    }
    return [h, w]
}


/// The limit on what a model may need, for every command that builds or loads one.
struct MemoryOptions: ParsableArguments {
    @Option(name: .long, help: "The most memory a model may need for its parameters and one sample's activations, e.g. 16GiB; a larger model is refused before it is allocated.")
    var maxModelMemory = ModelMemory.defaultLimit
}

extension DataOptions {
    /// For CSV data: the table with its column names and label column (read again: DataSource
    /// keeps neither for windows).
    func csvTable() throws -> CSVData? {
        guard let path = data, [".csv", ".tsv"].contains(where: { path.lowercased().hasSuffix($0) }) else { return nil }
        return try CSV.read(path, label: labelColumn.map { .name($0) })
    }

    /// Which samples are anomalies, when the labels say so. Windows take their rows' labels.
    func groundTruth(_ data: Dataset, table: CSVData?, normal: Set<Int>?, explicit: Bool) throws -> [Bool]? {
        var labels = data.labels
        let windowed = window != nil
        if windowed { labels = table?.dataset.labels }
        guard let labels else {
            if explicit { throw BottleneckError("--normal-classes needs labels, and \(data.source) has none (give --labels or --label-column)") }
            return nil
        }
        guard let rows = AnomalyLabels.anomalies(labels: labels, normalClasses: normal) else { return nil }
        return windowed ? AnomalyLabels.windows(rowAnomalies: rows, length: window!, stride: stride) : rows
    }
}
