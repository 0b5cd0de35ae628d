import Foundation
import BottleneckCore

/// Where a command's data comes from: Fashion-MNIST by default, or a file or folder the user
/// names. The format is chosen from the path: IDX (`.idx`, `-ubyte`, optionally `.gz`), and the
/// others registered in `DataSource.loaders`.
public struct DataRequest {
    /// nil or "fashion-mnist": the embedded default dataset.
    public var path: String?
    /// A labels file for IDX/NPY data.
    public var labels: String?
    /// For tabular data: the column holding labels.
    public var labelColumn: String?
    /// CSV: whether the first row is a header; nil applies `CSV.isHeader`'s rule.
    public var csvHeader: Bool?
    /// Images: resize to [height, width]; nil: all must share one size.
    public var imageSize: [Int]?
    /// Images: keep colour (3 channels) instead of grayscale.
    public var color = false
    /// Time series: window length and stride (turns a CSV series into windows).
    public var window: Int?
    public var stride = 1

    public init(path: String? = nil) { self.path = path }

    public var isDefault: Bool { path == nil || path == "fashion-mnist" }
}

public enum DataSource {
    /// Loads the data named by `request`; `split` picks Fashion-MNIST's train or test part.
    public static func load(_ request: DataRequest, split: FashionMNIST.Split) throws -> Dataset {
        guard let path = request.path, !request.isDefault else {
            let dir = FashionMNIST.defaultDirectory
            guard FileManager.default.fileExists(atPath: dir) else {
                throw BottleneckError.invalid(.data, "not given, and Fashion-MNIST is not installed in \(dir) (run `make setup`, or name the data)")
            }
            return try FashionMNIST.load(split)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw BottleneckError.file(path, "no such file or folder") }
        let lower = path.lowercased()
        if isDir.boolValue { return try loadImageFolder(request, path) }
        for (suffixes, loader) in loaders where suffixes.contains(where: { lower.hasSuffix($0) }) {
            return try loader(request, path)
        }
        if lower.contains("ubyte") || lower.hasSuffix(".idx") || lower.hasSuffix(".idx.gz") {
            return try FashionMNIST.loadIDXPair(images: path, labels: request.labels)
        }
        throw BottleneckError.file(path, "unknown data format (expected IDX, .csv, .npy, or a folder of images)")
    }

    typealias Loader = (DataRequest, String) throws -> Dataset
    static var loaders: [([String], Loader)] { formatLoaders }
}
