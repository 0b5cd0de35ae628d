import ArgumentParser
import Bottleneck
import Foundation

struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Lossy compression through a model: codes quantised and arithmetic-coded into a small file.",
        discussion: """
        Each code value is quantised to 2^bits levels over its range, and the levels are coded by an
        adaptive arithmetic coder. The file records the model's hash: only the same model decompresses it.
        Reports bits per pixel and PSNR; --compare adds PNG (lossless) and JPEG at a similar size,
        --rd-csv/--rd-svg sweep bits 1-8 and JPEG qualities into a rate-distortion table and plot.
        Examples:
          bottleneck compress --model conv32.safetensors --bits 6 -o test.bnz           # Fashion-MNIST test split
          bottleneck compress --model conv32.safetensors --image a.png --image b.png -o two.bnz
          bottleneck compress --model conv32.safetensors --compare --rd-csv rd.csv --rd-svg rd.svg -o test.bnz
          bottleneck decompress --model conv32.safetensors --input test.bnz -o recon/
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file.") var model: String
    @Option(name: .long, help: "Images to compress (PNG/JPEG; resized to the model's input); repeat for several.") var image: [String] = []
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Fashion-MNIST split when no --data is given.") var split = "test"
    @Option(name: .long, help: "Compress only the first N samples.") var limit: Int?
    @Option(name: .long, help: "Bits per code value: 1...8.") var bits = 6
    @Option(name: [.short, .long], help: "Compressed file to write.") var output = "compressed.bnz"
    @Flag(name: .long, help: "Images: compare with PNG (lossless) and JPEG at a similar size.") var compare = false
    @Option(name: .long, help: "Images: write the rate-distortion points (bits 1-8, JPEG, PNG) to this CSV.") var rdCsv: String?
    @Option(name: .long, help: "Images: plot the rate-distortion points to this SVG.") var rdSvg: String?

    func run() throws {
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        let codec = try AutoencoderCodec(model: loaded.model, scaler: loaded.scaler)
        let samples: Tensor, source: String
        if !image.isEmpty {
            samples = try loadImages(image, as: loaded.model.inputShape)
            source = image.count == 1 ? image[0] : "\(image.count) images"
        } else {
            let data = try LoadedSamples(dataOptions, split: try parseSplit(split), limit: limit).data
            try loaded.checkFeatures(data)
            samples = data.inputs
            source = data.source
        }
        let isImage = samples.rank == 4 && (samples.shape[1] == 1 || samples.shape[1] == 3)
        let file = try codec.compress(samples, bits: bits, source: source)
        let bytes = try file.encoded()
        try writeAtomically(bytes, to: output)
        let n = samples.shape[0]
        let ours = try codec.measure(file, bytes: bytes.count, samples: samples, isImage: isImage, source: output)
        let raw = try codec.decode(mapBatches(Dataset(inputs: try loaded.scaler.transform(samples))) { loaded.model.encode($0) })
        if isImage {
            print(String(format: "wrote %@: %d images in %d bytes (%.1f per image), %.4f bits per pixel, PSNR %.2f dB (unquantised codes: %.2f dB)",
                         output, n, bytes.count, Double(bytes.count) / Double(n), ours.bitsPerPixel, ours.psnr, psnr(mse: ImageCodecBaseline.eightBitMSE(raw, samples))))
        } else {
            print(String(format: "wrote %@: %d samples in %d bytes (%.1f per sample), %.3f bits per value, MSE %.6g (unquantised codes: %.6g)",
                         output, n, bytes.count, Double(bytes.count) / Double(n), 8 * Double(bytes.count) / Double(samples.count),
                         meanSquaredError(try codec.decompress(file, source: output), samples), meanSquaredError(raw, samples)))
        }
        guard compare || rdCsv != nil || rdSvg != nil else { return }
        guard isImage else { throw BottleneckError("--compare, --rd-csv and --rd-svg compare with PNG and JPEG: they need image data") }
        if compare { try printComparison(ours, samples) }
        if rdCsv != nil || rdSvg != nil { try writeRateDistortion(codec, samples) }
    }

    func printComparison(_ ours: RatePoint, _ samples: Tensor) throws {
        let pngEach = try ImageCodecBaseline.perImage(samples, jpegQuality: nil)
        let pngMosaic = try ImageCodecBaseline.mosaic(samples, jpegQuality: nil)
        // The JPEG quality whose mosaic is nearest our size (bits per pixel falls with quality).
        var lo = 1, hi = 100
        while lo < hi {
            let mid = (lo + hi) / 2
            if try ImageCodecBaseline.mosaic(samples, jpegQuality: mid).bitsPerPixel < ours.bitsPerPixel { lo = mid + 1 } else { hi = mid }
        }
        let candidates = try Set([max(1, lo - 1), lo]).map { try ImageCodecBaseline.mosaic(samples, jpegQuality: $0) }
        var jpegNear = candidates.min { abs($0.bitsPerPixel - ours.bitsPerPixel) < abs($1.bitsPerPixel - ours.bitsPerPixel) }!
        jpegNear.setting += " (nearest size)"
        // The lowest JPEG quality whose mosaic reaches our PSNR (PSNR rises with quality).
        (lo, hi) = (1, 100)
        while lo < hi {
            let mid = (lo + hi) / 2
            if try ImageCodecBaseline.mosaic(samples, jpegQuality: mid).psnr < ours.psnr { lo = mid + 1 } else { hi = mid }
        }
        var jpegSame = try ImageCodecBaseline.mosaic(samples, jpegQuality: lo)
        jpegSame.setting += " (same PSNR)"
        var jpegSmallest = try ImageCodecBaseline.perImage(samples, jpegQuality: 1)
        jpegSmallest.setting += " (smallest)"
        print("method                               bits/pixel  PSNR (dB)")
        for p in [ours, jpegNear, jpegSame, jpegSmallest, pngMosaic, pngEach] {
            print("\(p.method) \(p.setting)".padding(toLength: 35, withPad: " ", startingAt: 0)
                  + String(format: "  %10.4f  %9@", p.bitsPerPixel, p.psnr.isFinite ? String(format: "%.2f", p.psnr) : "lossless"))
        }
    }

    func writeRateDistortion(_ codec: AutoencoderCodec, _ samples: Tensor) throws {
        let points = try codec.rateDistortionSweep(samples)
        if let rdCsv { try writeText(rateDistortionCSV(points), to: rdCsv) }
        if let rdSvg {
            try writeText(rateDistortionSVG(points, title: "\(codec.model.spec.name) code \(formatShape(codec.model.codeShape)) vs JPEG, \(samples.shape[0]) images"), to: rdSvg)
        }
        print("rate-distortion: \(points.count) points" + (rdCsv.map { " -> \($0)" } ?? "") + (rdSvg.map { " -> \($0)" } ?? ""))
        print(rateDistortionCSV(points), terminator: "")
    }
}

struct Decompress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild samples from a compressed file: PNG images (a folder, or one grid) or rows (.npy/.csv).",
        discussion: """
        Needs the model that compressed the file; a file from another model is refused.
        Examples:
          bottleneck decompress --model conv32.safetensors --input test.bnz -o recon/       # recon/000000.png ...
          bottleneck decompress --model conv32.safetensors --input test.bnz -o grid.png     # all in one grid
          bottleneck decompress --model tab.safetensors --input rows.bnz -o rows.csv
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file (the one that compressed the file).") var model: String
    @Option(name: [.short, .long], help: "Compressed file.") var input: String
    @Option(name: [.short, .long], help: "A folder (one PNG per image), a .png (grid), or .npy/.csv rows.") var output: String

    func run() throws {
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        let codec = try AutoencoderCodec(model: loaded.model, scaler: loaded.scaler)
        let file = try CompressedCodes.read(input)
        let samples = try codec.decompress(file, source: input)
        let n = samples.shape[0]
        let lower = output.lowercased()
        if lower.hasSuffix(".npy") || lower.hasSuffix(".csv") {
            try writeTable(samples.reshaped([n, -1]), labels: nil, to: output, columnPrefix: "x")
            print("wrote \(output): \(n) rows of \(samples.count / max(n, 1)) values")
            return
        }
        let images = asImages(samples)
        if lower.hasSuffix(".png") {
            let grid = n == 1 ? try Image(tensor: images.reshaped(Array(images.shape.dropFirst())))
                              : try imageGrid(images, columns: Int(Double(n).squareRoot().rounded(.up)))
            try grid.writePNG(to: output)
            print("wrote \(output): \(n) image\(n == 1 ? "" : "s")\(n == 1 ? "" : " in a grid")")
            return
        }
        let folder = output.count > 1 && output.hasSuffix("/") ? String(output.dropLast()) : output
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw BottleneckError.file(output, "cannot create the folder")
        }
        let digits = max(6, String(n - 1).count)
        for i in 0..<n {
            let name = String(repeating: "0", count: max(0, digits - String(i).count)) + String(i)
            try Image(tensor: images.rows(i, 1).reshaped(Array(images.shape.dropFirst()))).writePNG(to: "\(folder)/\(name).png")
        }
        print("wrote \(n) PNG images to \(folder)/")
    }
}
