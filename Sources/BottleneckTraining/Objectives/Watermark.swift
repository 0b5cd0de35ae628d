import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData

/// A tiny built-in 5x7 pixel font (upper-case letters, digits, space and - . ! ©) for drawing
/// watermarks without any font file. Each glyph is 7 rows of 5 bits, the high bit on the left.
public enum BitmapFont {
    public static let glyphWidth = 5, glyphHeight = 7
    static let glyphs: [Character: [UInt8]] = [
        "A": [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11], "B": [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        "C": [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E], "D": [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        "E": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F], "F": [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        "G": [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F], "H": [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        "I": [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E], "J": [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        "K": [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11], "L": [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        "M": [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11], "N": [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        "O": [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "P": [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        "Q": [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D], "R": [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        "S": [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E], "T": [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        "U": [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E], "V": [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        "W": [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A], "X": [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        "Y": [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04], "Z": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        "0": [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], "1": [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        "2": [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], "3": [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        "4": [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], "5": [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        "6": [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], "7": [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        "8": [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], "9": [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        " ": [0, 0, 0, 0, 0, 0, 0], "-": [0, 0, 0, 0x1F, 0, 0, 0], ".": [0, 0, 0, 0, 0, 0x0C, 0x0C],
        "!": [0x04, 0x04, 0x04, 0x04, 0x04, 0, 0x04], "©": [0x0E, 0x11, 0x17, 0x14, 0x17, 0x11, 0x0E],
    ]

    public static var characters: String { String(glyphs.keys.sorted()) }

    /// The text as a bitmap (`true` = ink), one blank column between glyphs, each font pixel
    /// drawn as `scale` x `scale` pixels. Lower-case letters are drawn as upper case.
    public static func render(_ text: String, scale: Int = 1) throws -> (width: Int, height: Int, ink: [Bool]) {
        guard !text.isEmpty else { throw BottleneckError("watermark text is empty") }
        guard scale >= 1 else { throw BottleneckError("watermark scale must be at least 1, got \(scale)") }
        let chars = Array(text.uppercased())
        let rows = try chars.map { c -> [UInt8] in
            guard let g = glyphs[c] else { throw BottleneckError("watermark text '\(text)': '\(c)' is not in the built-in 5x7 font (A-Z, 0-9, space, - . ! ©)") }
            return g
        }
        let w = (chars.count * (glyphWidth + 1) - 1) * scale, h = glyphHeight * scale
        var ink = [Bool](repeating: false, count: w * h)
        for (i, g) in rows.enumerated() {
            for gy in 0..<glyphHeight { for gx in 0..<glyphWidth where g[gy] & (0x10 >> UInt8(gx)) != 0 {
                let x0 = (i * (glyphWidth + 1) + gx) * scale, y0 = gy * scale
                for dy in 0..<scale { for dx in 0..<scale { ink[(y0 + dy) * w + x0 + dx] = true } }
            } }
        }
        return (w, h, ink)
    }
}

/// A semi-transparent text watermark: each image gets the text at a random position with a random
/// opacity in `opacity`, blended over every channel as (1 - a) x + a * `value` (1: white).
/// A text wider or taller than the image is placed so it covers as much of it as it can.
public struct Watermark: Equatable, CustomStringConvertible {
    public let text: String
    public let opacity: ClosedRange<Float>
    public let scale: Int
    public let value: Float
    public let stamp: (width: Int, height: Int, ink: [Bool])

    public init(text: String = "SAMPLE", opacity: ClosedRange<Float> = 0.3...0.7, scale: Int = 1, value: Float = 1) throws {
        guard opacity.lowerBound >= 0, opacity.upperBound <= 1 else {
            throw BottleneckError("watermark opacity must lie in [0, 1], got \(opacity.lowerBound)-\(opacity.upperBound)")
        }
        guard (0...1).contains(value) else { throw BottleneckError("watermark value must lie in [0, 1], got \(value)") }
        self.text = text
        self.opacity = opacity
        self.scale = scale
        self.value = value
        stamp = try BitmapFont.render(text, scale: scale)
    }

    /// The watermark of a variant's settings.
    public init(_ settings: WatermarkSettings) throws {
        try self.init(text: settings.text, opacity: settings.opacity, scale: settings.scale, value: settings.value)
    }

    /// Parses an opacity "0.5" or a range "0.3-0.7".
    public static func opacity(parsing s: String) throws -> ClosedRange<Float> { try WatermarkSettings.opacity(parsing: s) }

    public var description: String { "watermark '\(text)' opacity \(opacity.lowerBound)-\(opacity.upperBound)" }

    public static func == (a: Watermark, b: Watermark) -> Bool {
        a.text == b.text && a.opacity == b.opacity && a.scale == b.scale && a.value == b.value
    }

    /// Watermarked copies of images [N, C, H, W] (or [C, H, W]); no gradient.
    public func apply(_ x: Tensor, rng: RandomGenerator) -> Tensor {
        let out = x.detached().copy()
        let s = x.rank == 4 ? x.shape : [1] + x.shape
        precondition(s.count == 4, "a watermark needs images [N, C, H, W], got \(x.shape)")
        let (n, c, h, w) = (s[0], s[1], s[2], s[3])
        for i in 0..<n {
            let x0 = start(w, stamp.width, rng), y0 = start(h, stamp.height, rng)
            let a = rng.uniform(opacity.lowerBound, opacity.upperBound)
            for y in max(0, y0)..<min(h, y0 + stamp.height) { for xx in max(0, x0)..<min(w, x0 + stamp.width)
                where stamp.ink[(y - y0) * stamp.width + xx - x0] {
                for k in 0..<c { let p = out.data + ((i * c + k) * h + y) * w + xx; p.pointee = (1 - a) * p.pointee + a * value }
            } }
        }
        return out
    }

    /// A random offset along one side: the stamp inside the image, or covering it when larger.
    private func start(_ size: Int, _ length: Int, _ rng: RandomGenerator) -> Int {
        let lo = min(0, size - length), hi = max(0, size - length)
        return lo + rng.int(below: hi - lo + 1)
    }
}
