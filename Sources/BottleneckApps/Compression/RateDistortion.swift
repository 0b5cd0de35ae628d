import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// One point of a rate-distortion comparison: a method at one setting, its size in bits per pixel
/// (a pixel of a colour image counts once) and the PSNR of what it gives back (infinite: lossless).
public struct RatePoint: Codable, Equatable {
    public var method: String
    public var setting: String
    public var bytes: Int
    public var bitsPerPixel: Double
    public var psnr: Double

    public init(method: String, setting: String, bytes: Int, bitsPerPixel: Double, psnr: Double) {
        (self.method, self.setting, self.bytes, self.bitsPerPixel, self.psnr) = (method, setting, bytes, bitsPerPixel, psnr)
    }
}

/// The standard image codecs as baselines on the same images, over the whole set: PSNR from the
/// mean squared error of every value (images in [0, 1]).
public enum ImageCodecBaseline {
    /// Images [N, C, H, W] in [0, 1] as 8-bit images.
    static func images(_ t: Tensor) throws -> [Image] {
        guard t.rank == 4, t.shape[1] == 1 || t.shape[1] == 3 else {
            throw BottleneckError("image baselines need images [N, 1 or 3, H, W], got \(formatShape(t.shape))")
        }
        return try (0..<t.shape[0]).map { try Image(tensor: t.rows($0, 1).reshaped(Array(t.shape.dropFirst()))) }
    }

    /// One file per image: what storing each image alone costs (headers included).
    public static func perImage(_ samples: Tensor, jpegQuality: Int?) throws -> RatePoint {
        let imgs = try images(samples)
        var bytes = 0, se = 0.0, values = 0
        for img in imgs {
            let data = try jpegQuality.map { try img.jpegData(quality: $0) } ?? img.pngData()
            bytes += data.count
            if jpegQuality != nil { se += squaredError(try Image.decode(data, source: "jpeg"), img) }
            values += img.pixels.count
        }
        return point(jpegQuality.map { _ in "jpeg" } ?? "png", jpegQuality.map { "q\($0) per image" } ?? "lossless per image",
                     bytes: bytes, pixels: samples.shape[0] * samples.shape[2] * samples.shape[3], mse: se / Double(max(values, 1)))
    }

    /// All images tiled edge to edge into one picture (as near square as the count allows): the
    /// headers are paid once, as they are for a file of codes.
    public static func mosaic(_ samples: Tensor, jpegQuality: Int?) throws -> RatePoint {
        let n = samples.shape[0], columns = Int(Double(n).squareRoot().rounded(.up))
        // Unused tiles of the last row stay black; they count neither as pixels nor in the error.
        let grid = try imageGrid(samples, columns: columns, padding: 0, paddingValue: 0)
        let data = try jpegQuality.map { try grid.jpegData(quality: $0) } ?? grid.pngData()
        var mse = 0.0
        if jpegQuality != nil {
            let decoded = try Image.decode(data, source: "jpeg")
            let (h, w, c) = (samples.shape[2], samples.shape[3], samples.shape[1])
            var se = 0.0
            grid.pixels.withUnsafeBufferPointer { a in
                decoded.pixels.withUnsafeBufferPointer { b in
                    for i in 0..<n {
                        let x0 = (i % columns) * w, y0 = (i / columns) * h
                        for y in y0..<(y0 + h) {
                            // One tile's row: w pixels of c channels.
                            let start = (y * grid.width + x0) * c, row = start..<(start + w * c)
                            se += SampleMetrics.squaredErrorSum(UnsafeBufferPointer(rebasing: a[row]), UnsafeBufferPointer(rebasing: b[row]))
                        }
                    }
                }
            }
            mse = se / Double(n * h * w * c)
        }
        return point(jpegQuality.map { _ in "jpeg" } ?? "png", jpegQuality.map { "q\($0) mosaic" } ?? "lossless mosaic",
                     bytes: data.count, pixels: n * samples.shape[2] * samples.shape[3], mse: mse)
    }

    /// The squared error of two 8-bit images, in units of 1/255.
    static func squaredError(_ a: Image, _ b: Image) -> Double {
        a.pixels.withUnsafeBufferPointer { pa in b.pixels.withUnsafeBufferPointer { SampleMetrics.squaredErrorSum(pa, $0) } }
    }

    /// The mean squared error of images after rounding to 8 bits (as the PNGs a decompression
    /// writes), against `reference`, both in [0, 1].
    public static func eightBitMSE(_ images: Tensor, _ reference: Tensor) -> Double {
        let rounded = Tensor(shape: images.shape, zeroed: false)
        for i in 0..<images.count {
            let v = images.data[i]
            rounded.data[i] = Float(v >= 1 ? 255 : v > 0 ? (v * 255).rounded() : 0) / 255
        }
        return meanSquaredError(rounded, reference)
    }

    static func point(_ method: String, _ setting: String, bytes: Int, pixels: Int, mse: Double) -> RatePoint {
        RatePoint(method: method, setting: setting, bytes: bytes, bitsPerPixel: 8 * Double(bytes) / Double(max(pixels, 1)),
                  psnr: mse == 0 ? .infinity : SampleMetrics.psnr(mse: mse))
    }
}

/// Rate-distortion points as CSV (method, setting, bytes, bits_per_pixel, psnr_db).
extension AutoencoderCodec {
    /// Size and PSNR of a compressed file; images are compared as the 8-bit PNGs decompress
    /// writes. `source` names the file in errors.
    public func measure(_ file: CompressedCodes, bytes: Int, samples: Tensor, isImage: Bool, source: String) throws -> RatePoint {
        let rebuilt = try decompress(file, source: source)
        let pixels = isImage ? samples.shape[0] * samples.shape[2] * samples.shape[3] : samples.count
        return RatePoint(method: "autoencoder", setting: "\(file.quantizer.bits) bits", bytes: bytes,
                         bitsPerPixel: 8 * Double(bytes) / Double(pixels),
                         psnr: psnr(mse: isImage ? ImageCodecBaseline.eightBitMSE(rebuilt, samples) : meanSquaredError(rebuilt, samples)))
    }

    /// The rate-distortion points of images [N, C, H, W]: the codes at 1-8 bits, JPEG at nine
    /// qualities (one mosaic, and four per image) and PNG (mosaic and per image).
    public func rateDistortionSweep(_ samples: Tensor) throws -> [RatePoint] {
        var points: [RatePoint] = []
        for b in UniformQuantizer.bitRange {
            let f = try compress(samples, bits: b)
            points.append(try measure(f, bytes: try f.encoded().count, samples: samples, isImage: true, source: "\(b)-bit codes"))
        }
        for q in [1, 2, 5, 10, 20, 30, 50, 75, 90] { points.append(try ImageCodecBaseline.mosaic(samples, jpegQuality: q)) }
        for q in [1, 10, 50, 90] { points.append(try ImageCodecBaseline.perImage(samples, jpegQuality: q)) }
        points.append(try ImageCodecBaseline.mosaic(samples, jpegQuality: nil))
        points.append(try ImageCodecBaseline.perImage(samples, jpegQuality: nil))
        return points
    }
}

public func rateDistortionCSV(_ points: [RatePoint]) -> String {
    var lines = ["method,setting,bytes,bits_per_pixel,psnr_db"]
    for p in points {
        lines.append("\(p.method),\(p.setting),\(p.bytes),\(String(format: "%.4f", p.bitsPerPixel)),\(p.psnr.isFinite ? String(format: "%.3f", p.psnr) : "inf")")
    }
    return lines.joined(separator: "\n") + "\n"
}

/// A line plot of PSNR against bits per pixel (log axis), one polyline per method series, as SVG
/// text. Lossless points (infinite PSNR) are listed in the legend instead of plotted.
public func rateDistortionSVG(_ points: [RatePoint], title: String) -> String {
    let width = 760.0, height = 460.0, left = 70.0, right = 230.0, top = 40.0, bottom = 60.0
    let finite = points.filter { $0.psnr.isFinite && $0.bitsPerPixel > 0 }
    let xs = finite.map { log10($0.bitsPerPixel) }, ys = finite.map(\.psnr)
    let x0 = floor(xs.min() ?? -1), x1 = max(ceil(xs.max() ?? 1), x0 + 1)
    let y0 = floor((ys.min() ?? 0) / 5) * 5, y1 = max(ceil((ys.max() ?? 40) / 5) * 5, y0 + 5)
    func px(_ bpp: Double) -> Double { left + (log10(bpp) - x0) / (x1 - x0) * (width - left - right) }
    func py(_ db: Double) -> Double { height - bottom - (db - y0) / (y1 - y0) * (height - top - bottom) }
    func f(_ v: Double) -> String { String(format: "%.1f", v) }
    func esc(_ s: String) -> String { s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;") }
    var svg = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">",
               "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>",
               "<text x=\"\(f(width / 2 - right / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">\(esc(title))</text>"]
    // Axes, grid and tick labels.
    var e = x0
    while e <= x1 + 1e-9 {
        for m in [1.0, 2, 5] where e + log10(m) <= x1 + 1e-9 {
            let v = Foundation.pow(10, e) * m, x = px(v)
            svg.append("<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(height - bottom))\" stroke=\"#ddd\"/>")
            svg.append("<text x=\"\(f(x))\" y=\"\(f(height - bottom + 16))\" text-anchor=\"middle\">\(v < 1 ? String(format: "%g", v) : String(Int(v)))</text>")
        }
        e += 1
    }
    var db = y0
    while db <= y1 + 1e-9 {
        let y = py(db)
        svg.append("<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(width - right))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>")
        svg.append("<text x=\"\(f(left - 8))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(Int(db))</text>")
        db += 5
    }
    svg.append("<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(width - left - right))\" height=\"\(f(height - top - bottom))\" fill=\"none\" stroke=\"black\"/>")
    svg.append("<text x=\"\(f((left + width - right) / 2))\" y=\"\(f(height - 18))\" text-anchor=\"middle\">bits per pixel (log scale)</text>")
    svg.append("<text transform=\"translate(18 \(f((top + height - bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">PSNR (dB)</text>")
    // One series per method and setting family ("jpeg mosaic", "jpeg per image", ...).
    let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
    var series: [(String, [RatePoint])] = []
    for p in finite {
        let name = seriesName(p)
        if let i = series.firstIndex(where: { $0.0 == name }) { series[i].1.append(p) } else { series.append((name, [p])) }
    }
    for (k, (name, pts)) in series.enumerated() {
        let color = colors[k % colors.count], sortedPts = pts.sorted { $0.bitsPerPixel < $1.bitsPerPixel }
        let path = sortedPts.map { "\(f(px($0.bitsPerPixel))),\(f(py($0.psnr)))" }.joined(separator: " ")
        svg.append("<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>")
        for p in sortedPts { svg.append("<circle cx=\"\(f(px(p.bitsPerPixel)))\" cy=\"\(f(py(p.psnr)))\" r=\"3\" fill=\"\(color)\"><title>\(esc("\(p.method) \(p.setting): \(String(format: "%.3f", p.bitsPerPixel)) bpp, \(String(format: "%.2f", p.psnr)) dB"))</title></circle>") }
        let ly = top + 10 + Double(k) * 20
        svg.append("<line x1=\"\(f(width - right + 12))\" y1=\"\(f(ly))\" x2=\"\(f(width - right + 32))\" y2=\"\(f(ly))\" stroke=\"\(color)\" stroke-width=\"2\"/>")
        svg.append("<text x=\"\(f(width - right + 38))\" y=\"\(f(ly + 4))\">\(esc(name))</text>")
    }
    for (k, p) in points.filter({ !$0.psnr.isFinite }).enumerated() {
        let ly = top + 10 + Double(series.count + k) * 20
        svg.append("<text x=\"\(f(width - right + 12))\" y=\"\(f(ly + 4))\">\(esc("\(p.method) \(p.setting): \(String(format: "%.2f", p.bitsPerPixel)) bpp"))</text>")
    }
    svg.append("</svg>")
    return svg.joined(separator: "\n") + "\n"
}

/// Points of one method whose settings differ only in their level ("q10 mosaic", "q50 mosaic")
/// form one series: the setting's first word is dropped when it starts with a letter and digits.
func seriesName(_ p: RatePoint) -> String {
    let words = p.setting.split(separator: " ")
    if let first = words.first, first.count > 1, first.first!.isLetter, first.dropFirst().allSatisfy(\.isNumber) {
        return ([p.method] + words.dropFirst().map(String.init)).joined(separator: " ")
    }
    return p.method
}
