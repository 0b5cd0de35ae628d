import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// Running a restoration model (denoiser, inpainter, coloriser, watermark remover) over data, and
/// scoring what it gives against clean references.
public enum Restoration {
    /// The model's outputs for samples [N, sample shape...] (eval mode, no gradients, in batches).
    public static func apply(_ model: Autoencoder, to inputs: Tensor, batchSize: Int = 500) throws -> Tensor {
        try model.checkInput(Array(inputs.shape.dropFirst()), source: "restoration input")
        model.eval()
        return mapBatches(Dataset(inputs: inputs), batchSize: batchSize) { model($0) }
    }

    /// One image [C, H, W] at least as large as the model's input [C, h, w]: the model runs on
    /// overlapping h x w tiles (half a tile apart; the last row and column of tiles flush with the
    /// edges) and the outputs are averaged where tiles overlap, which hides seams. An image of the
    /// model's own size is a single tile.
    public static func applyTiled(_ model: Autoencoder, to image: Tensor) throws -> Tensor {
        let ms = model.inputShape
        guard ms.count == 3, image.rank == 3 else {
            throw BottleneckError("tiled restoration needs an image model [C, H, W] and an image, got model \(formatShape(ms)) and image \(formatShape(image.shape))")
        }
        let (c, h, w) = (image.shape[0], image.shape[1], image.shape[2])
        let (th, tw) = (ms[1], ms[2])
        guard c == ms[0] else {
            throw BottleneckError("the image has \(c) channel(s), model '\(model.spec.name)' takes \(ms[0])")
        }
        guard h >= th, w >= tw else {
            throw BottleneckError("the image is \(w)x\(h), smaller than model '\(model.spec.name)''s input \(tw)x\(th)")
        }
        if h == th && w == tw { return try apply(model, to: image.reshaped([1, c, h, w])).reshaped([c, h, w]) }
        let ys = tileStarts(h, th), xs = tileStarts(w, tw)
        let tiles = Tensor(shape: [ys.count * xs.count, c, th, tw], zeroed: false)
        var k = 0
        for y0 in ys { for x0 in xs {
            for ch in 0..<c { for y in 0..<th {
                (tiles.data + ((k * c + ch) * th + y) * tw).update(from: image.data + (ch * h + y0 + y) * w + x0, count: tw)
            } }
            k += 1
        } }
        let out = try apply(model, to: tiles)
        let sum = Tensor(shape: [c, h, w]), weight = Tensor(shape: [h, w])
        k = 0
        for y0 in ys { for x0 in xs {
            for ch in 0..<c { for y in 0..<th { for x in 0..<tw {
                sum.data[(ch * h + y0 + y) * w + x0 + x] += out.data[((k * c + ch) * th + y) * tw + x]
            } } }
            for y in 0..<th { for x in 0..<tw { weight.data[(y0 + y) * w + x0 + x] += 1 } }
            k += 1
        } }
        for ch in 0..<c { for i in 0..<(h * w) { sum.data[ch * h * w + i] /= weight.data[i] } }
        return sum
    }

    /// Samples of the model's shape in batches; images [N, C, H, W] of another (larger) size tiled one by one.
    public static func applyAnySize(_ model: Autoencoder, to inputs: Tensor) throws -> Tensor {
        if Array(inputs.shape.dropFirst()) == model.inputShape || inputs.rank != 4 { return try apply(model, to: inputs) }
        let n = inputs.shape[0], one = Array(inputs.shape.dropFirst())
        let outs = try (0..<n).map { try applyTiled(model, to: inputs.rows($0, 1).reshaped(one)) }
        return Tensor.stack(outs)
    }

    /// A small fully convolutional autoencoder for restoration (docs/arch/restore-conv.json with
    /// `width` 32): one stride-2 convolution down to an overcomplete code [width, H/2, W/2] and one
    /// transposed convolution back. No dense bottleneck, so fine detail survives: the model only
    /// has to undo the damage. H and W must be even.
    public static func fullyConvolutionalSpec(channels: Int, width: Int = 32) -> ArchitectureSpec {
        func l(_ t: String, _ a: [String: JSONValue] = [:]) -> LayerSpec { LayerSpec(t, a) }
        func n(_ v: Int) -> JSONValue { .number(Double(v)) }
        return ArchitectureSpec(name: "restore-conv",
            encoder: [l("conv2d", ["out": n(width), "kernel": n(3), "padding": .string("same")]), l("relu"),
                      l("conv2d", ["out": n(width), "kernel": n(3), "stride": n(2), "padding": n(1)]), l("relu")],
            decoder: [l("conv_transpose2d", ["out": n(width), "kernel": n(3), "stride": n(2), "padding": n(1), "output_padding": n(1)]), l("relu"),
                      l("conv2d", ["out": n(channels), "kernel": n(3), "padding": .string("same")]), l("sigmoid")])
    }

    /// Tile origins along one side: every half tile, and one flush with the far edge.
    static func tileStarts(_ size: Int, _ tile: Int) -> [Int] {
        let step = max(1, tile / 2)
        var starts = Array(stride(from: 0, through: size - tile, by: step))
        if starts.last != size - tile { starts.append(size - tile) }
        return starts
    }
}

/// How much a restoration helped: PSNR (pooled over all values, peak 1) and mean SSIM of the
/// degraded input and of the restored output, both against the clean references.
public struct RestorationScore: Codable, Equatable {
    public var samples: Int
    public var psnrInput: Double
    public var psnrOutput: Double
    /// Nil for data that are not images of at least 7x7 pixels.
    public var ssimInput: Double?
    public var ssimOutput: Double?
    public var psnrGain: Double { psnrOutput - psnrInput }

    enum CodingKeys: String, CodingKey {
        case samples, psnrInput = "psnr_input_db", psnrOutput = "psnr_output_db", ssimInput = "ssim_input", ssimOutput = "ssim_output"
    }
}

/// Adds up the squared errors and SSIM values of (degraded, restored, clean) triples that may come
/// one image at a time (images of different sizes) or in batches.
public struct RestorationScorer {
    var squaredInput = 0.0, squaredOutput = 0.0, values = 0
    var ssimInput = 0.0, ssimOutput = 0.0, ssimImages = 0, ssimMissing = false
    public private(set) var samples = 0

    public init() {}

    /// One batch: tensors of one shape, [N, C, H, W] images (SSIM too), [C, H, W] for one image, or table rows [N, D].
    public mutating func add(degraded: Tensor, restored: Tensor, clean: Tensor, isImage: Bool) throws {
        guard degraded.shape == clean.shape, restored.shape == clean.shape else {
            throw BottleneckError("restoration score: shapes \(formatShape(degraded.shape)), \(formatShape(restored.shape)) and \(formatShape(clean.shape)) differ")
        }
        squaredInput += SampleMetrics.termSum(.mse, degraded, clean)
        squaredOutput += SampleMetrics.termSum(.mse, restored, clean)
        values += clean.count
        let batch = isImage && clean.rank == 4 ? clean : isImage ? clean.reshaped([1] + clean.shape) : clean
        samples += isImage && clean.rank == 3 ? 1 : clean.shape.first ?? 0
        guard isImage, let metric = SSIM.fitting(height: batch.shape[2], width: batch.shape[3]) else { ssimMissing = true; return }
        let shape = batch.shape
        let a = try metric.perImage(degraded.reshaped(shape), clean.reshaped(shape))
        let b = try metric.perImage(restored.reshaped(shape), clean.reshaped(shape))
        ssimInput += a.reduce(0, +)
        ssimOutput += b.reduce(0, +)
        ssimImages += a.count
    }

    public var score: RestorationScore {
        let n = Double(max(values, 1)), m = Double(max(ssimImages, 1))
        let hasSSIM = !ssimMissing && ssimImages > 0
        return RestorationScore(samples: samples, psnrInput: SampleMetrics.psnr(mse: squaredInput / n), psnrOutput: SampleMetrics.psnr(mse: squaredOutput / n),
                                ssimInput: hasSSIM ? ssimInput / m : nil, ssimOutput: hasSSIM ? ssimOutput / m : nil)
    }
}
