import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// Which pixels of an image are missing (the hole), row-major, `true` = missing.
public struct HoleMask: Equatable {
    public let width: Int
    public let height: Int
    public var missing: [Bool]

    public init(width: Int, height: Int, missing: [Bool]) {
        precondition(missing.count == width * height, "a \(width)x\(height) mask needs \(width * height) values")
        self.width = width
        self.height = height
        self.missing = missing
    }

    public var missingCount: Int { missing.reduce(0) { $0 + ($1 ? 1 : 0) } }

    /// A rectangle of `w` x `h` pixels with its top-left corner at (x, y), inside a `imageWidth` x `imageHeight` image.
    public static func rectangle(x: Int, y: Int, w: Int, h: Int, imageWidth: Int, imageHeight: Int) throws -> HoleMask {
        guard w >= 1, h >= 1 else { throw BottleneckError.invalid(.rect, "\(x),\(y),\(w),\(h): width and height must be at least 1") }
        guard x >= 0, y >= 0, x + w <= imageWidth, y + h <= imageHeight else {
            throw BottleneckError.invalid(.rect, "\(x),\(y),\(w),\(h) reaches outside the \(imageWidth)x\(imageHeight) image (x+w <= \(imageWidth), y+h <= \(imageHeight) needed)")
        }
        var m = [Bool](repeating: false, count: imageWidth * imageHeight)
        for yy in y..<(y + h) { for xx in x..<(x + w) { m[yy * imageWidth + xx] = true } }
        return HoleMask(width: imageWidth, height: imageHeight, missing: m)
    }

    /// Parses "x,y,w,h".
    public static func rectangle(parsing text: String, imageWidth: Int, imageHeight: Int) throws -> HoleMask {
        let v = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard v.count == 4, let x = v[0], let y = v[1], let w = v[2], let h = v[3] else {
            throw BottleneckError.invalid(.rect, "'\(text)': expected x,y,width,height in pixels, e.g. 8,8,12,12")
        }
        return try rectangle(x: x, y: y, w: w, h: h, imageWidth: imageWidth, imageHeight: imageHeight)
    }

    /// A mask image (PNG or JPEG) of the images' size: white (gray value >= 128) marks missing pixels.
    public static func read(_ path: String, imageWidth: Int, imageHeight: Int) throws -> HoleMask {
        let image = try Image.read(path).converted(toChannels: 1)
        guard image.width == imageWidth, image.height == imageHeight else {
            throw BottleneckError.file(path, "the mask is \(image.sizeDescription) but the images are \(imageWidth)x\(imageHeight) (width x height)")
        }
        let mask = HoleMask(width: imageWidth, height: imageHeight, missing: image.pixels.map { $0 >= 128 })
        guard mask.missingCount > 0 else { throw BottleneckError.file(path, "the mask marks no pixel as missing (white = missing)") }
        return mask
    }

    /// The mask as a gray image: white = missing.
    public var image: Image { Image(width: width, height: height, channels: 1, pixels: missing.map { $0 ? 255 : 0 }) }

    /// One random rectangle per image, sides a fraction in [minSide, maxSide] of the image's, drawn
    /// as the occlusion noise draws them (so a model trained on it sees holes of this kind).
    public static func randomRectangles(count: Int, width: Int, height: Int, minSide: Float, maxSide: Float, rng: RandomGenerator) -> [HoleMask] {
        (0..<count).map { _ in
            let rh = max(1, Int((Float(height) * rng.uniform(minSide, maxSide)).rounded()))
            let rw = max(1, Int((Float(width) * rng.uniform(minSide, maxSide)).rounded()))
            let top = rng.int(below: height - min(rh, height) + 1), left = rng.int(below: width - min(rw, width) + 1)
            return try! rectangle(x: left, y: top, w: min(rw, width), h: min(rh, height), imageWidth: width, imageHeight: height)
        }
    }
}

/// Filling holes in images [N, C, H, W] with a model trained on occluded inputs
/// (`--variant denoising --noise occlusion:MIN-MAX`), and the plain fills it is compared with.
/// `masks` holds one mask for all images, or one per image.
public enum Inpainting {
    static func check(_ images: Tensor, _ masks: [HoleMask]) throws -> (Int, Int, Int, Int) {
        guard images.rank == 4 else { throw BottleneckError("inpainting needs images [N, C, H, W], got \(formatShape(images.shape))") }
        let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        guard masks.count == 1 || masks.count == n else { throw BottleneckError("inpainting: \(masks.count) masks for \(n) images") }
        for m in masks where m.width != w || m.height != h {
            throw BottleneckError("the mask is \(m.width)x\(m.height) but the images are \(w)x\(h) (width x height)")
        }
        return (n, c, h, w)
    }

    /// Calls `body(image, channel plane pointer offset, mask)` for every image and channel.
    static func forEachPlane(_ images: Tensor, _ masks: [HoleMask], _ body: (_ offset: Int, _ mask: HoleMask) -> Void) throws {
        let (n, c, h, w) = try check(images, masks)
        for i in 0..<n { for k in 0..<c { body((i * c + k) * h * w, masks.count == 1 ? masks[0] : masks[i]) } }
    }

    /// The model's input: hole pixels set to 0 in every channel, as the occlusion noise does in training.
    public static func masked(_ images: Tensor, _ masks: [HoleMask]) throws -> Tensor {
        let out = images.copy()
        try forEachPlane(out, masks) { off, m in for (j, gone) in m.missing.enumerated() where gone { out.data[off + j] = 0 } }
        return out
    }

    /// Keeps the known pixels of `images` and takes `fill`'s pixels inside the hole.
    public static func composite(_ images: Tensor, fill: Tensor, _ masks: [HoleMask]) throws -> Tensor {
        let out = images.copy()
        try forEachPlane(out, masks) { off, m in for (j, gone) in m.missing.enumerated() where gone { out.data[off + j] = fill.data[off + j] } }
        return out
    }

    /// The model's fill of the holes, known pixels kept.
    public static func inpaint(_ model: Autoencoder, images: Tensor, masks: [HoleMask]) throws -> Tensor {
        let input = try masked(images, masks)
        return try composite(images, fill: try Restoration.applyAnySize(model, to: input), masks)
    }

    /// Baseline: each hole filled with the mean of the known pixels that border it (4-neighbours of
    /// a missing pixel), per image and channel; 0.5 if no known pixel borders it.
    public static func localMeanFill(_ images: Tensor, masks: [HoleMask]) throws -> Tensor {
        let out = images.copy()
        try forEachPlane(out, masks) { off, m in
            let v = borderMean(out.data + off, m)
            for (j, gone) in m.missing.enumerated() where gone { out.data[off + j] = v }
        }
        return out
    }

    static func borderMean(_ p: UnsafeMutablePointer<Float>, _ m: HoleMask) -> Float {
        let (w, h) = (m.width, m.height)
        var sum = 0.0, n = 0
        for y in 0..<h { for x in 0..<w where !m.missing[y * w + x] {
            let touches = (x > 0 && m.missing[y * w + x - 1]) || (x + 1 < w && m.missing[y * w + x + 1])
                || (y > 0 && m.missing[(y - 1) * w + x]) || (y + 1 < h && m.missing[(y + 1) * w + x])
            if touches { sum += Double(p[y * w + x]); n += 1 }
        } }
        return n > 0 ? Float(sum / Double(n)) : 0.5
    }

    /// Baseline: harmonic (diffusion) fill: hole pixels relaxed to the mean of their 4 neighbours
    /// until they settle (Gauss-Seidel with over-relaxation), starting from the local mean; known
    /// pixels stay fixed. The smooth interpolation of the hole's border.
    public static func diffusionFill(_ images: Tensor, masks: [HoleMask], maxSweeps: Int = 2000, tolerance: Float = 1e-5) throws -> Tensor {
        let out = try localMeanFill(images, masks: masks)
        try forEachPlane(out, masks) { off, m in
            let p = out.data + off, (w, h) = (m.width, m.height)
            let holes = m.missing.indices.filter { m.missing[$0] }
            for _ in 0..<maxSweeps {
                var change: Float = 0
                for j in holes {
                    let x = j % w, y = j / w
                    var s: Float = 0, k: Float = 0
                    if x > 0 { s += p[j - 1]; k += 1 }
                    if x + 1 < w { s += p[j + 1]; k += 1 }
                    if y > 0 { s += p[j - w]; k += 1 }
                    if y + 1 < h { s += p[j + w]; k += 1 }
                    let delta = 1.8 * (s / k - p[j])
                    p[j] += delta
                    change = max(change, abs(delta))
                }
                if change < tolerance { break }
            }
        }
        return out
    }

    /// PSNR (peak 1) over the hole pixels only, all channels.
    public static func psnrInsideHole(_ a: Tensor, _ b: Tensor, masks: [HoleMask]) throws -> Double {
        guard a.shape == b.shape else { throw BottleneckError("psnrInsideHole: shapes \(formatShape(a.shape)) and \(formatShape(b.shape)) differ") }
        var se = 0.0, n = 0
        try forEachPlane(a, masks) { off, m in
            let plane = SampleMetrics.squaredErrorSum(a.data + off, b.data + off, where: m.missing)
            se += plane.sum
            n += plane.count
        }
        return SampleMetrics.psnr(mse: se / Double(max(n, 1)))
    }
}

/// Inpainting quality inside the holes: the model against the two plain fills, all against the
/// true pixels (PSNR over hole pixels only).
public struct InpaintingScore: Codable, Equatable {
    public var images: Int
    public var holePixels: Int
    public var psnrModel: Double
    public var psnrLocalMean: Double
    public var psnrDiffusion: Double

    public init(images: Int, holePixels: Int, psnrModel: Double, psnrLocalMean: Double, psnrDiffusion: Double) {
        (self.images, self.holePixels, self.psnrModel, self.psnrLocalMean, self.psnrDiffusion) = (images, holePixels, psnrModel, psnrLocalMean, psnrDiffusion)
    }

    enum CodingKeys: String, CodingKey {
        case images, holePixels = "hole_pixels", psnrModel = "psnr_hole_model_db", psnrLocalMean = "psnr_hole_local_mean_db"
        case psnrDiffusion = "psnr_hole_diffusion_db"
    }

    /// Scores the model on complete images `clean` with the given holes.
    public static func measure(_ model: Autoencoder, clean: Tensor, masks: [HoleMask]) throws -> (InpaintingScore, filled: Tensor) {
        let filled = try Inpainting.inpaint(model, images: clean, masks: masks)
        let local = try Inpainting.localMeanFill(clean, masks: masks), diffusion = try Inpainting.diffusionFill(clean, masks: masks)
        let perImage = masks.map(\.missingCount)
        let holes = masks.count == 1 ? perImage[0] * clean.shape[0] : perImage.reduce(0, +)
        let score = InpaintingScore(images: clean.shape[0], holePixels: holes,
                                    psnrModel: try Inpainting.psnrInsideHole(filled, clean, masks: masks),
                                    psnrLocalMean: try Inpainting.psnrInsideHole(local, clean, masks: masks),
                                    psnrDiffusion: try Inpainting.psnrInsideHole(diffusion, clean, masks: masks))
        return (score, filled)
    }
}
