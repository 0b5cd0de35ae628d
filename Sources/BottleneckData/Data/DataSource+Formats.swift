import BottleneckCore
/// File formats beyond IDX: CSV tables (or time-series windows), NPY arrays, image folders.
extension DataSource {
    static var formatLoaders: [([String], Loader)] {
        [
            ([".csv", ".tsv"], { r, path in
                if let window = r.window {
                    let table = try CSV.read(path, drop: r.labelColumn.map { [CSVColumn.name($0)] } ?? [], header: r.csvHeader)
                    var windows = try TimeSeries.windows(table.dataset.inputs, length: window, stride: r.stride, source: path)
                    windows.featureNames = table.dataset.featureNames
                    return windows
                }
                return try CSV.read(path, label: r.labelColumn.map { .name($0) }, header: r.csvHeader).dataset
            }),
            ([".npy"], { r, path in
                let d = try NPYArray.loadDataset(inputs: path, labels: r.labels)
                guard let window = r.window else { return d }
                guard d.inputs.rank == 2 else { throw BottleneckError.file(path, "cutting windows needs a [time, features] array, got \(formatShape(d.inputs.shape))") }
                return try TimeSeries.windows(d.inputs, length: window, stride: r.stride, source: path)
            }),
        ]
    }

    static func loadImageFolder(_ request: DataRequest, _ path: String) throws -> Dataset {
        let sizing: ImageSizing = request.imageSize.map { .resize(width: $0[1], height: $0[0]) } ?? .requireUniform
        return try ImageFolder.load(path, color: request.color ? .rgb : .gray, sizing: sizing).dataset
    }
}
