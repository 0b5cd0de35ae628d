import Bottleneck
import Foundation

/// The inputs of a restoration command, scaled as the model was trained. A dataset (Fashion-MNIST,
/// IDX, NPY, CSV) is one batch [N, ...]; image files (a folder or one file) are one [1, C, H, W]
/// batch each, at their own size, so photos larger than the model are restored in tiles.
struct RestorationInputs {
    var batches: [Tensor]
    /// Output file name of each sample.
    var names: [String]
    var isImage: Bool
    var source: String

    var count: Int { names.count }
    /// All batches as one tensor, or nil when the images differ in size.
    var joined: Tensor? {
        let shapes = Set(batches.map { Array($0.shape.dropFirst()) })
        guard shapes.count == 1 else { return nil }
        return batches.count == 1 ? batches[0] : Tensor.concat(batches, axis: 0)
    }

    static func isImagePath(_ path: String?) -> Bool {
        guard let path else { return false }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return true }
        return ImageFolder.imageExtensions.contains((path as NSString).pathExtension.lowercased())
    }

    /// Loads `path` (or `--data`). Images are converted to `channels` (nil: as stored); a colour
    /// image for a 1-channel model is an error, not a silent conversion.
    static func load(_ options: DataOptions, path: String? = nil, loaded: TrainedModel, channels: Int?) throws -> RestorationInputs {
        let p = path ?? options.data
        if isImagePath(p), let p {
            let files = try Patches.imageFiles(p)
            var batches: [Tensor] = [], names: [String] = []
            for f in files {
                var image = try Image.read(f)
                if let channels {
                    if image.channels == 3 && channels == 1 {
                        throw BottleneckError.file(f, "is a colour image but model '\(loaded.model.spec.name)' takes grayscale (1-channel) images: use a model trained on colour images (--color)")
                    }
                    image = image.converted(toChannels: channels)
                }
                if let size = try options.request().imageSize { image = image.resized(width: size[1], height: size[0]) }
                let t = image.tensor()
                batches.append(try loaded.scaler.transform(t.reshaped([1] + t.shape)))
                names.append((f as NSString).lastPathComponent)
            }
            return RestorationInputs(batches: batches, names: names.map(pngName), isImage: true, source: p)
        }
        var data = try DataSource.load(try options.request(path: p), split: .test)
        try validateFinite(data)
        try loaded.checkFeatures(data)
        data.inputs = try loaded.scaler.transform(data.inputs)
        let s = data.sampleShape
        let isImage = s.count == 3 && (s[0] == 1 || s[0] == 3)
        let digits = max(5, String(data.count).count)
        let names = (0..<data.count).map { String(repeating: "0", count: max(0, digits - String($0).count)) + "\($0).png" }
        return RestorationInputs(batches: [data.inputs], names: names, isImage: isImage, source: data.source)
    }

    static func pngName(_ file: String) -> String { ((file as NSString).deletingPathExtension) + ".png" }

    /// Checks that references match the inputs sample for sample.
    func checkReferences(_ refs: RestorationInputs, flag: String) throws {
        guard refs.count == count else {
            throw BottleneckError("\(flag) \(refs.source): \(refs.count) references for \(count) inputs in \(source)")
        }
        for (a, b) in zip(batches, refs.batches) where a.shape != b.shape {
            throw BottleneckError("\(flag) \(refs.source): references of shape \(formatShape(b.shape)) for inputs of \(formatShape(a.shape))")
        }
    }
}

/// Writes what a restoration command made: a PNG grid (rows: input, output, reference when
/// there is one) of the first `count` samples; all outputs as .npy/.csv (original scale); or,
/// for any other name, a folder with one PNG per output.
func writeRestorationOutput(_ output: String, inputs: RestorationInputs, degraded: [Tensor], restored: [Tensor], clean: [Tensor]?,
                            scaler: Scaler, count: Int) throws -> String {
    let lower = output.lowercased()
    func joined(_ parts: [Tensor]) throws -> Tensor {
        guard Set(parts.map { Array($0.shape.dropFirst()) }).count == 1 else {
            throw BottleneckError("--output \(output): the images differ in size; write them to a folder instead")
        }
        return parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 0)
    }
    if lower.hasSuffix(".png") {
        if inputs.count == 1 && inputs.isImage {
            let one = try scaler.inverseTransform(restored[0])
            try Image(tensor: one.reshaped(Array(one.shape.dropFirst()))).writePNG(to: output)
            return "wrote \(output)"
        }
        let n = min(count, inputs.count)
        let rows = try ([degraded, restored] + (clean.map { [$0] } ?? [])).map { try joined($0).rows(0, n) }
        try writeComparisonGrid(rows: rows, scaler: scaler, to: output)
        return "wrote \(output) (\(n) samples: input row, output row\(clean == nil ? "" : ", reference row"))"
    }
    if lower.hasSuffix(".npy") || lower.hasSuffix(".csv") {
        let all = try scaler.inverseTransform(try joined(restored))
        try writeTable(all.reshaped([all.shape[0], -1]), labels: nil, to: output, columnPrefix: "x")
        return "wrote \(output): \(all.shape[0]) outputs"
    }
    guard inputs.isImage else { throw BottleneckError("--output \(output): these samples are not images; name a .npy or .csv file") }
    try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
    var k = 0
    for batch in restored {
        let images = try scaler.inverseTransform(batch)
        let one = Array(images.shape.dropFirst())
        for i in 0..<images.shape[0] {
            try Image(tensor: images.rows(i, 1).reshaped(one)).writePNG(to: "\(output)/\(inputs.names[k])")
            k += 1
        }
    }
    return "wrote \(k) images to \(output)/"
}

/// Prints a restoration score: PSNR and SSIM of the input and of the output against the references.
func printScore(_ s: RestorationScore, inputLabel: String, json: Bool) throws {
    if json { print(try prettyJSON(s)); return }
    func ssim(_ v: Double?) -> String { v.map { String(format: "SSIM %.4f", $0) } ?? "SSIM n/a" }
    print(String(format: "%@ vs clean:  PSNR %6.2f dB  %@", inputLabel.padding(toLength: 10, withPad: " ", startingAt: 0), s.psnrInput, ssim(s.ssimInput)))
    print(String(format: "restored   vs clean:  PSNR %6.2f dB  %@   (%+.2f dB, %d samples)", s.psnrOutput, ssim(s.ssimOutput), s.psnrGain, s.samples))
}
