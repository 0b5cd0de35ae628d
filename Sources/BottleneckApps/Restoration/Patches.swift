import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// Square patches cut from photos: training data for colour models from a few large images.
public enum Patches {
    public enum Part: String, CaseIterable { case train, test, all }

    /// Patches of `size` x `size` from images [C, H, W] (any sizes), `stride` apart. Each image's
    /// columns are split: the left 1 - `testFraction` give the training patches, the rest the test
    /// patches, so no test pixel is ever seen in training.
    public static func cut(_ images: [Tensor], size: Int, stride: Int, part: Part, testFraction: Double = 0.25) throws -> Tensor {
        guard size >= 1, stride >= 1 else { throw BottleneckError("patch size and stride must be at least 1, got \(size) and \(stride)") }
        guard (0..<1).contains(testFraction) else { throw BottleneckError("the test fraction must be in [0, 1), got \(testFraction)") }
        var origins: [(Int, Int, Int)] = []
        for (i, image) in images.enumerated() {
            guard image.rank == 3 else { throw BottleneckError("patches need images [C, H, W], got \(formatShape(image.shape))") }
            let (h, w) = (image.shape[1], image.shape[2])
            let split = Int((Double(w) * (1 - testFraction)).rounded())
            let range: (Int, Int) = part == .train ? (0, split) : part == .test ? (split, w) : (0, w)
            guard range.1 - range.0 >= size, h >= size else { continue }
            for y in Swift.stride(from: 0, through: h - size, by: stride) {
                for x in Swift.stride(from: range.0, through: range.1 - size, by: stride) { origins.append((i, y, x)) }
            }
        }
        guard let first = images.first, !origins.isEmpty else {
            throw BottleneckError("no \(size)x\(size) patch fits the \(part.rawValue) part of the images")
        }
        let c = first.shape[0]
        guard images.allSatisfy({ $0.shape[0] == c }) else { throw BottleneckError("patches: the images do not all have \(c) channel(s)") }
        let out = Tensor(shape: [origins.count, c, size, size], zeroed: false)
        for (k, (i, y0, x0)) in origins.enumerated() {
            let img = images[i], w = img.shape[2], h = img.shape[1]
            for ch in 0..<c { for y in 0..<size {
                (out.data + ((k * c + ch) * size + y) * size).update(from: img.data + (ch * h + y0 + y) * w + x0, count: size)
            } }
        }
        return out
    }

    /// Every PNG/JPEG of a folder (or one file) as a [C, H, W] tensor in [0, 1], by sorted name,
    /// optionally shrunk by an integer factor (bilinear).
    public static func loadImages(_ path: String, channels: Int, downscale: Int = 1) throws -> (images: [Tensor], names: [String]) {
        guard downscale >= 1 else { throw BottleneckError.invalid(.downscale, "must be at least 1, got \(downscale)") }
        let files = try imageFiles(path)
        let images = try files.map { f -> Tensor in
            var image = try Image.read(f).converted(toChannels: channels)
            if downscale > 1 { image = image.resized(width: max(1, image.width / downscale), height: max(1, image.height / downscale)) }
            return image.tensor()
        }
        return (images, files)
    }

    /// The image files named by `path`: the file itself, or a folder's PNG/JPEG files by sorted name.
    public static func imageFiles(_ path: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw BottleneckError.file(path, "no such file or folder") }
        guard isDir.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        let files = names.sorted().filter { !$0.hasPrefix(".") && ImageFolder.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
        guard !files.isEmpty else { throw BottleneckError.file(path, "has no .png, .jpg or .jpeg images") }
        return files.map { "\(path)/\($0)" }
    }
}
