import CImageCodecs
import Foundation
import BottleneckCore

/// An 8-bit image: `channels` is 1 (gray) or 3 (RGB); `pixels` are interleaved, rows top to bottom
/// (pixel (x, y), channel c at `(y * width + x) * channels + c`).
public struct Image: Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(channels == 1 || channels == 3, "an Image has 1 or 3 channels, not \(channels)")
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * channels,
                     "\(pixels.count) pixel values do not fill \(width)x\(height)x\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The most pixels an image may have: decoders refuse larger ones before decoding
    /// (`BN_MAX_PIXELS` in the codec shim, the same number).
    public static let maxPixels = 1 << 26

    /// "WIDTHxHEIGHT", as sizes are written in messages.
    public var sizeDescription: String { "\(width)x\(height)" }

    // MARK: Files

    /// Reads a PNG or JPEG (chosen by the file's first bytes, not its name).
    public static func read(_ path: String) throws -> Image {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BottleneckError.file(path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        return try decode(data, source: path)
    }

    public static func decode(_ data: Data, source: String) throws -> Image {
        let bytes = [UInt8](data.prefix(8))
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return try decodeWith(bn_png_decode, data, format: "PNG", source: source) }
        if bytes.starts(with: [0xFF, 0xD8]) { return try decodeWith(bn_jpeg_decode, data, format: "JPEG", source: source) }
        throw BottleneckError.file(source, "not a PNG or JPEG image (\(data.count) bytes, unknown signature)")
    }

    private typealias Decoder = (UnsafePointer<UInt8>?, Int, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
                                 UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?,
                                 UnsafeMutablePointer<CChar>?, Int) -> Int32

    private static func decodeWith(_ decoder: Decoder, _ data: Data, format: String, source: String) throws -> Image {
        var pixels: UnsafeMutablePointer<UInt8>? = nil
        var width: Int32 = 0, height: Int32 = 0, channels: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = data.withUnsafeBytes { raw in
            decoder(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &pixels, &width, &height, &channels, &message, message.count)
        }
        defer { bn_free(pixels) }
        guard status == 0, let pixels else {
            throw BottleneckError.file(source, "corrupt or unsupported \(format) (\(data.count) bytes): \(String(cString: message))")
        }
        let count = Int(width) * Int(height) * Int(channels)
        return Image(width: Int(width), height: Int(height), channels: Int(channels),
                     pixels: Array(UnsafeBufferPointer(start: pixels, count: count)))
    }

    /// The image as PNG bytes (8-bit gray or RGB).
    public func pngData() throws -> Data {
        try encodeWith(format: "PNG") { p, out, size, msg, msgSize in
            bn_png_encode(p, Int32(width), Int32(height), Int32(channels), out, size, msg, msgSize)
        }
    }

    /// The image as baseline JPEG bytes; `quality` 1...100.
    public func jpegData(quality: Int = 90) throws -> Data {
        guard (1...100).contains(quality) else { throw BottleneckError("JPEG quality must be 1...100, got \(quality)") }
        return try encodeWith(format: "JPEG") { p, out, size, msg, msgSize in
            bn_jpeg_encode(p, Int32(width), Int32(height), Int32(channels), Int32(quality), out, size, msg, msgSize)
        }
    }

    /// Writes a PNG atomically (temporary file, then rename).
    public func writePNG(to path: String) throws { try writeAtomically(try pngData(), to: path) }

    /// Writes a JPEG atomically.
    public func writeJPEG(to path: String, quality: Int = 90) throws { try writeAtomically(try jpegData(quality: quality), to: path) }

    private func encodeWith(format: String, _ encoder: (UnsafePointer<UInt8>?, UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>,
                                                         UnsafeMutablePointer<Int>, UnsafeMutablePointer<CChar>, Int) -> Int32) throws -> Data {
        guard width > 0, height > 0 else { throw BottleneckError("cannot encode an empty \(sizeDescription) image as \(format)") }
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = pixels.withUnsafeBufferPointer { p in encoder(p.baseAddress, &out, &size, &message, message.count) }
        defer { bn_free(out) }
        guard status == 0, let out else { throw BottleneckError("\(format) encoding failed: \(String(cString: message))") }
        return Data(bytes: out, count: size)
    }

    // MARK: Conversions

    /// The same image with 1 (gray) or 3 (RGB) channels. Gray from RGB uses ITU-R 601 luma
    /// (0.299 R + 0.587 G + 0.114 B, as PIL's "L" mode); RGB from gray repeats the value.
    public func converted(toChannels target: Int) -> Image {
        precondition(target == 1 || target == 3, "an Image has 1 or 3 channels, not \(target)")
        if target == channels { return self }
        let n = width * height
        var out = [UInt8](repeating: 0, count: n * target)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                if target == 1 {
                    for i in 0..<n {
                        let r = UInt32(src[3 * i]), g = UInt32(src[3 * i + 1]), b = UInt32(src[3 * i + 2])
                        dst[i] = UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
                    }
                } else {
                    for i in 0..<n { let v = src[i]; dst[3 * i] = v; dst[3 * i + 1] = v; dst[3 * i + 2] = v }
                }
            }
        }
        return Image(width: width, height: height, channels: target, pixels: out)
    }

    /// Bilinear resampling with pixel centres aligned (PyTorch's `align_corners=False`, no antialiasing:
    /// strong reductions alias, as they do in `F.interpolate`).
    public func resized(width newWidth: Int, height newHeight: Int) -> Image {
        precondition(newWidth > 0 && newHeight > 0, "cannot resize to \(newWidth)x\(newHeight)")
        if newWidth == width && newHeight == height { return self }
        precondition(width > 0 && height > 0, "cannot resize an empty image")
        // Source coordinate and weight of each output column, computed once.
        func taps(_ outSize: Int, _ inSize: Int) -> [(Int, Int, Float)] {
            let scale = Float(inSize) / Float(outSize)
            return (0..<outSize).map { o in
                let s = max(0, (Float(o) + 0.5) * scale - 0.5)
                let i0 = min(Int(s), inSize - 1)
                return (i0, min(i0 + 1, inSize - 1), s - Float(i0))
            }
        }
        let xs = taps(newWidth, width), ys = taps(newHeight, height), c = channels
        var out = [UInt8](repeating: 0, count: newWidth * newHeight * c)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (y, (y0, y1, fy)) in ys.enumerated() {
                    for (x, (x0, x1, fx)) in xs.enumerated() {
                        for k in 0..<c {
                            let a = Float(src[(y0 * width + x0) * c + k]), b = Float(src[(y0 * width + x1) * c + k])
                            let d = Float(src[(y1 * width + x0) * c + k]), e = Float(src[(y1 * width + x1) * c + k])
                            let top = a + (b - a) * fx, bottom = d + (e - d) * fx
                            dst[(y * newWidth + x) * c + k] = UInt8(min(255, max(0, (top + (bottom - top) * fy).rounded())))
                        }
                    }
                }
            }
        }
        return Image(width: newWidth, height: newHeight, channels: c, pixels: out)
    }

    /// Writes the image into `destination` as [C, H, W] values in [0, 1] (byte / 255).
    public func write(into destination: UnsafeMutablePointer<Float>) {
        let plane = width * height, c = channels
        pixels.withUnsafeBufferPointer { src in
            for k in 0..<c {
                let out = destination + k * plane
                for i in 0..<plane { out[i] = Float(src[i * c + k]) / 255 }
            }
        }
    }

    /// The image as a tensor [C, H, W] in [0, 1].
    public func tensor() -> Tensor {
        let t = Tensor(shape: [channels, height, width], zeroed: false)
        write(into: t.data)
        return t
    }

    /// An image from a tensor [C, H, W] (C = 1 or 3) or [H, W] of values in [0, 1]; values outside are clamped.
    public init(tensor: Tensor) throws {
        let s = tensor.shape
        guard (s.count == 3 && (s[0] == 1 || s[0] == 3)) || s.count == 2 else {
            throw BottleneckError("an image tensor must be [1 or 3, H, W] or [H, W], got \(formatShape(s))")
        }
        let (c, h, w) = s.count == 3 ? (s[0], s[1], s[2]) : (1, s[0], s[1])
        var out = [UInt8](repeating: 0, count: c * h * w)
        let plane = h * w
        withExtendedLifetime(tensor) {
            let src = tensor.data
            for k in 0..<c {
                for i in 0..<plane { out[i * c + k] = Image.byte(src[k * plane + i]) }
            }
        }
        self.init(width: w, height: h, channels: c, pixels: out)
    }

    /// A value in [0, 1] as a byte (clamped, rounded; NaN becomes 0).
    @inline(__always) static func byte(_ v: Float) -> UInt8 {
        v >= 1 ? 255 : v > 0 ? UInt8((v * 255).rounded()) : 0
    }
}

/// Tiles images [N, C, H, W] (values in [0, 1], C = 1 or 3) into one picture, `columns` per row,
/// row by row, with `padding` pixels of `paddingValue` between and around them. For "originals over
/// reconstructions", concatenate originals then reconstructions and use their count as `columns`.
public func imageGrid(_ images: Tensor, columns: Int, padding: Int = 2, paddingValue: UInt8 = 255) throws -> Image {
    let s = images.shape
    guard s.count == 4, s[1] == 1 || s[1] == 3 else {
        throw BottleneckError("imageGrid needs images [N, 1 or 3, H, W], got \(formatShape(s))")
    }
    guard columns > 0, padding >= 0 else { throw BottleneckError("imageGrid needs columns > 0 and padding >= 0 (got \(columns), \(padding))") }
    let (n, c, h, w) = (s[0], s[1], s[2], s[3])
    let cols = max(1, min(columns, n)), rows = max(1, (n + cols - 1) / cols)
    let gridW = cols * w + (cols + 1) * padding, gridH = rows * h + (rows + 1) * padding
    var out = [UInt8](repeating: paddingValue, count: gridW * gridH * c)
    withExtendedLifetime(images) {
        let src = images.data
        for i in 0..<n {
            let x0 = padding + (i % cols) * (w + padding), y0 = padding + (i / cols) * (h + padding)
            for k in 0..<c {
                let plane = src + (i * c + k) * h * w
                for y in 0..<h {
                    let row = (y0 + y) * gridW
                    for x in 0..<w { out[(row + x0 + x) * c + k] = Image.byte(plane[y * w + x]) }
                }
            }
        }
    }
    return Image(width: gridW, height: gridH, channels: c, pixels: out)
}
