import Bottleneck
import Foundation

/// Samples as loaded (not yet scaled: an `Embedder` or codec applies the model's scaling), with
/// names for the items of an image folder and class names where the data has them.
struct LoadedSamples {
    var data: Dataset
    var ids: [String]?
    var classNames: [String]?

    /// `split` of the data named by `options` (or `path`), the first `limit` samples if given.
    init(_ options: DataOptions, split: FashionMNIST.Split, path: String? = nil, limit: Int? = nil) throws {
        let request = try options.request(path: path)
        var isDir: ObjCBool = false
        if let p = request.path, !request.isDefault, FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue {
            let sizing: ImageSizing = request.imageSize.map { .resize(width: $0[1], height: $0[0]) } ?? .requireUniform
            let folder = try ImageFolder.load(p, color: request.color ? .rgb : .gray, sizing: sizing)
            data = folder.dataset
            ids = folder.files.map { String($0.dropFirst(p.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/")) }
            classNames = folder.classNames.isEmpty ? nil : folder.classNames
        } else {
            data = try DataSource.load(request, split: split)
            if request.isDefault { classNames = FashionMNIST.classNames }
        }
        try validateFinite(data)
        if let limit {
            guard limit >= 1 else { throw BottleneckError("--limit must be at least 1, got \(limit)") }
            if limit < data.count {
                data = data.subset(Array(0..<limit))
                ids = ids.map { Array($0.prefix(limit)) }
            }
        }
    }
}

func parseSplit(_ s: String) throws -> FashionMNIST.Split {
    guard let split = FashionMNIST.Split(rawValue: s) else { throw BottleneckError("--split must be train or test, got '\(s)'") }
    return split
}

/// Image files as samples [N, C, H, W] of the per-sample shape `shape` ([C, H, W]): converted to
/// its channels and resized (bilinear) to its size, values in [0, 1].
func loadImages(_ paths: [String], as shape: [Int]) throws -> Tensor {
    guard shape.count == 3, shape[0] == 1 || shape[0] == 3 else {
        throw BottleneckError("--image needs a model or index of images [1 or 3, H, W]; this one takes samples of shape \(formatShape(shape))")
    }
    let out = Tensor(shape: [paths.count] + shape, zeroed: false)
    let per = shape.reduce(1, *)
    for (i, p) in paths.enumerated() {
        let img = try Image.read(p).converted(toChannels: shape[0]).resized(width: shape[2], height: shape[1])
        img.write(into: out.data + i * per)
    }
    return out
}

/// A comma-separated list of sample numbers, e.g. "0,5,17".
func parseIndexList(_ text: String, flag: String, count: Int) throws -> [Int] {
    let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    return try parts.map { p in
        guard let i = Int(p), i >= 0, i < count else { throw BottleneckError("\(flag): '\(p)' is not a sample number in 0..<\(count)") }
        return i
    }
}

func printJSONLine<T: Encodable>(_ value: T) throws {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try e.encode(value), as: UTF8.self))
}
