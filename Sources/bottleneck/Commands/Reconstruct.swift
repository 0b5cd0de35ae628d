import ArgumentParser
import Bottleneck
import Foundation

struct Reconstruct: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a PNG grid: originals in the top row(s), their reconstructions below.",
        discussion: """
        Examples:
          bottleneck reconstruct --model conv.safetensors --output grid.png
          bottleneck reconstruct --model conv.safetensors --count 32 --data my-images/
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file.") var model: String
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "How many samples to show.") var count = 16
    @Option(name: .long, help: "Index of the first sample.") var start = 0
    @Option(name: [.short, .long], help: "PNG file to write.") var output = "reconstructions.png"

    func run() throws {
        guard count >= 1 else { throw BottleneckError("--count must be at least 1") }
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        let data = try loaded.data(dataOptions)
        guard start >= 0, start < data.count else { throw BottleneckError("--start must be in 0..<\(data.count)") }
        let n = min(count, data.count - start)
        let x = data.inputs.rows(start, n)
        let r = withoutGradients { loaded.model(x) }
        try writeComparisonGrid(rows: [x, r], scaler: loaded.scaler, to: output)
        let metrics = try evaluateReconstruction(loaded.model, on: Dataset(inputs: x.copy(), source: data.source))
        print(String(format: "wrote %@ (%d originals over reconstructions, MSE %.5f, PSNR %.2f dB)", output, n, metrics.mse, metrics.psnr))
    }
}

/// Rows of images (each [N, C, H, W] in model scale) as one PNG: row k of the grid is rows[k].
/// Non-image samples are shown as their values laid out in a near-square.
func writeComparisonGrid(rows: [Tensor], scaler: Scaler, to path: String) throws {
    let n = rows[0].shape[0]
    let images = try rows.map { asImages(try scaler.inverseTransform($0)) }
    try zoomed(imageGrid(Tensor.concat(images, axis: 0), columns: n), tile: images[0].shape[2]).writePNG(to: path)
}

/// Small tiles (Fashion-MNIST's 28 px) are enlarged by pixel repetition so a grid is readable.
func zoomed(_ image: Image, tile: Int) -> Image {
    let f = tile >= 64 ? 1 : tile >= 32 ? 2 : 3
    guard f > 1 else { return image }
    let w = image.width * f, h = image.height * f, c = image.channels
    var pixels = [UInt8](repeating: 0, count: w * h * c)
    for y in 0..<h { for x in 0..<w { for k in 0..<c {
        pixels[(y * w + x) * c + k] = image.pixels[((y / f) * image.width + x / f) * c + k]
    } } }
    return Image(width: w, height: h, channels: c, pixels: pixels)
}

/// Up to `limit` samples (model scale) in a near-square grid.
func writeSampleGrid(_ samples: Tensor, scaler: Scaler, limit: Int = 64, to path: String) throws {
    let n = min(limit, samples.shape[0])
    let images = asImages(try scaler.inverseTransform(samples.rows(0, n)))
    try zoomed(imageGrid(images, columns: Int(Double(n).squareRoot().rounded(.up))), tile: images.shape[2]).writePNG(to: path)
}

/// [N, C, H, W] stays; any other sample shape becomes one gray channel, zero-padded to a square.
func asImages(_ t: Tensor) -> Tensor {
    if t.rank == 4 && (t.shape[1] == 1 || t.shape[1] == 3) { return t.clamp(0, 1) }
    let n = t.shape[0], d = t.count / max(n, 1)
    let side = Int(Double(d).squareRoot().rounded(.up))
    let out = Tensor(shape: [n, 1, side, side])
    let lo = t.minValue, hi = t.maxValue, span = max(hi - lo, 1e-12)
    for i in 0..<n { for j in 0..<d { out.data[i * side * side + j] = (t.data[i * d + j] - lo) / span } }
    return out
}
