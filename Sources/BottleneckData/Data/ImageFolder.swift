import Foundation
import BottleneckCore

/// Gray (1 channel) or RGB (3 channels): what the user asks images to become.
public enum ColorMode: String, Codable, CaseIterable {
    case gray, rgb
    public var channels: Int { self == .gray ? 1 : 3 }
}

/// How images of a folder get one size.
public enum ImageSizing: Equatable {
    /// Every image is resampled (bilinear) to this size.
    case resize(width: Int, height: Int)
    /// Every image must already have the size of the first one (by name); another size is an error.
    case requireUniform
}

/// A folder of images loaded as a dataset.
public struct ImageFolder {
    /// Images [N, C, H, W] in [0, 1]; labels when the folder has class subfolders.
    public var dataset: Dataset
    /// Subfolder names, sorted; label i is `classNames[i]`. Empty without subfolders.
    public var classNames: [String]
    /// The image files in sample order.
    public var files: [String]

    public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

    /// Loads all *.png, *.jpg, *.jpeg (any case) in `directory`, sorted by name. If the folder holds
    /// subfolders with images instead, each subfolder is a class (sorted names -> labels 0, 1, ...),
    /// and images are ordered by class, then name. Hidden files and folders are skipped.
    public static func load(_ directory: String, color: ColorMode, sizing: ImageSizing) throws -> ImageFolder {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw BottleneckError.file(directory, "no such folder")
        }
        guard isDirectory.boolValue else { throw BottleneckError.file(directory, "is a file, not a folder of images") }
        if case let .resize(w, h) = sizing, w <= 0 || h <= 0 {
            throw BottleneckError("image size must be positive, got \(w)x\(h)")
        }

        let (topImages, subfolders) = try listing(directory)
        var classNames: [String] = []
        var files: [String] = []
        var labels: [Int] = []
        for name in subfolders {
            let images = try listing("\(directory)/\(name)").images
            guard !images.isEmpty else { continue }
            labels += Array(repeating: classNames.count, count: images.count)
            classNames.append(name)
            files += images.map { "\(directory)/\(name)/\($0)" }
        }
        if classNames.isEmpty {
            files = topImages.map { "\(directory)/\($0)" }
        } else if let loose = topImages.first {
            throw BottleneckError.file(directory, "mixes loose images ('\(loose)') with class subfolders (\(classNames.joined(separator: ", "))): put every image in a class folder, or use no subfolders")
        }
        guard !files.isEmpty else { throw BottleneckError.file(directory, "has no .png, .jpg or .jpeg images") }

        var width = 0, height = 0, firstFile = files[0]
        if case let .resize(w, h) = sizing {
            guard w > 0, h > 0, let pixels = checkedProduct(w, h), pixels <= Image.maxPixels else {
                throw BottleneckError.invalid(.imageSize, "must be at least 1x1 and at most \(Image.maxPixels) pixels, got \(h)x\(w)")
            }
            (width, height) = (w, h)
        }
        var inputs: Tensor? = nil
        for (i, file) in files.enumerated() {
            var image = try Image.read(file).converted(toChannels: color.channels)
            switch sizing {
            case .resize:
                image = image.resized(width: width, height: height)
            case .requireUniform:
                if i == 0 {
                    (width, height, firstFile) = (image.width, image.height, file)
                } else if image.width != width || image.height != height {
                    throw BottleneckError.file(file, "image is \(image.sizeDescription) (width x height), but \(firstFile) is \(width)x\(height): all images must have one size (or choose a size to resize to)")
                }
            }
            if inputs == nil {
                let shape = [files.count, color.channels, height, width]
                guard let n = checkedElementCount(shape), n <= InputLimits.maxValues else {
                    throw BottleneckError.file(directory, "\(files.count) images of \(width)x\(height) are more than the \(InputLimits.maxValues) values a dataset may hold")
                }
                inputs = Tensor(shape: shape, zeroed: false)
            }
            image.write(into: inputs!.data + i * inputs!.count / files.count)
        }
        let dataset = Dataset(inputs: inputs!, labels: classNames.isEmpty ? nil : labels, source: directory)
        return ImageFolder(dataset: dataset, classNames: classNames, files: files)
    }

    /// Image file names and subfolder names of a folder, each sorted; hidden entries skipped.
    private static func listing(_ directory: String) throws -> (images: [String], folders: [String]) {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw BottleneckError.file(directory, "cannot list the folder")
        }
        var images: [String] = [], folders: [String] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            var isDirectory: ObjCBool = false
            FileManager.default.fileExists(atPath: "\(directory)/\(name)", isDirectory: &isDirectory)
            if isDirectory.boolValue {
                folders.append(name)
            } else if imageExtensions.contains((name as NSString).pathExtension.lowercased()) {
                images.append(name)
            }
        }
        return (images, folders)
    }
}
