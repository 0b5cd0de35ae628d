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

    @Option(name: .long, help: "Images: resize to HxW, e.g. 32x32 (default: all images must share one size).")
    var imageSize: String?

    @Flag(name: .long, help: "Images: keep colour (RGB) instead of converting to grayscale.")
    var color = false

    @Option(name: .long, help: "Time series CSV: cut into windows of this many rows.")
    var window: Int?

    @Option(name: .long, help: "Time series: rows between window starts.")
    var stride: Int = 1

    func request(path: String? = nil) throws -> DataRequest {
        var r = DataRequest(path: path ?? data)
        r.labels = labels
        r.labelColumn = labelColumn
        r.color = color
        r.window = window
        r.stride = stride
        if let s = imageSize {
            let parts = s.lowercased().split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts.allSatisfy({ $0 > 0 }) else {
                throw BottleneckError("--image-size must look like 32x32, got '\(s)'")
            }
            r.imageSize = parts
        }
        if let w = window, w < 2 { throw BottleneckError("--window must be at least 2, got \(w)") }
        if stride < 1 { throw BottleneckError("--stride must be at least 1, got \(stride)") }
        return r
    }
}

