import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// Image quality measures for data in [0, dataRange]: SSIM (PSNR is `SampleMetrics.psnr`).

/// The normalised 1-D Gaussian of `size` taps (odd) and standard deviation `sigma`.
public func gaussianWindow(size: Int, sigma: Double) -> [Double] {
    let half = Double(size / 2)
    let w = (0..<size).map { Foundation.exp(-(Double($0) - half) * (Double($0) - half) / (2 * sigma * sigma)) }
    let total = w.reduce(0, +)
    return w.map { $0 / total }
}

/// Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004) as in their reference code:
/// a `window`x`window` Gaussian of standard deviation `sigma` (11 and 1.5 by default),
/// C1 = (0.01 L)^2, C2 = (0.03 L)^2 with L = `dataRange`, population (not sample) variances,
/// and the SSIM map kept where the window lies inside the image ("valid"). Each image's value
/// is the mean of its map over the map and its channels.
public struct SSIM {
    public let window: Int
    public let sigma: Double
    public let dataRange: Double
    let taps: [Double]

    public init(window: Int = 11, sigma: Double = 1.5, dataRange: Double = 1) throws {
        guard window >= 1, window % 2 == 1 else { throw BottleneckError("SSIM: the window must be an odd size, got \(window)") }
        guard sigma > 0, dataRange > 0 else { throw BottleneckError("SSIM: sigma and the data range must be positive") }
        self.window = window
        self.sigma = sigma
        self.dataRange = dataRange
        taps = gaussianWindow(size: window, sigma: sigma)
    }

    /// The standard 11x11 window, or 7x7 for images smaller than 11 pixels; nil when even 7 does not fit.
    public static func fitting(height: Int, width: Int) -> SSIM? {
        let side = min(height, width)
        return side >= 11 ? try? SSIM() : side >= 7 ? try? SSIM(window: 7) : nil
    }

    /// Mean SSIM of each image pair: images [N, C, H, W], [C, H, W] or [H, W] (N = 1 for the last two).
    public func perImage(_ x: Tensor, _ y: Tensor) throws -> [Double] {
        guard x.shape == y.shape else { throw BottleneckError("SSIM: images of shape \(formatShape(x.shape)) and \(formatShape(y.shape)) differ") }
        let s = x.shape
        let (n, c, h, w): (Int, Int, Int, Int)
        switch s.count {
        case 4: (n, c, h, w) = (s[0], s[1], s[2], s[3])
        case 3: (n, c, h, w) = (1, s[0], s[1], s[2])
        case 2: (n, c, h, w) = (1, 1, s[0], s[1])
        default: throw BottleneckError("SSIM needs images [N, C, H, W], [C, H, W] or [H, W], got \(formatShape(s))")
        }
        guard h >= window, w >= window else {
            throw BottleneckError("SSIM: images of \(w)x\(h) are smaller than the \(window)x\(window) window")
        }
        let oh = h - window + 1, ow = w - window + 1
        var scratch = Scratch(h: h, w: w, oh: oh, ow: ow)
        var result = [Double](repeating: 0, count: n)
        withExtendedLifetime((x, y)) {
            for i in 0..<n {
                var sum = 0.0
                for k in 0..<c {
                    let off = (i * c + k) * h * w
                    sum += planeMean(x.data + off, y.data + off, h: h, w: w, &scratch)
                }
                result[i] = sum / Double(c)
            }
        }
        return result
    }

    /// Mean SSIM over all image pairs.
    public func mean(_ x: Tensor, _ y: Tensor) throws -> Double {
        let v = try perImage(x, y)
        return v.reduce(0, +) / Double(max(v.count, 1))
    }

    /// Buffers reused across planes: the five filtered maps and one horizontally filtered row set.
    struct Scratch {
        var maps: [[Double]]
        var rows: [Double]
        init(h: Int, w: Int, oh: Int, ow: Int) {
            maps = Array(repeating: [Double](repeating: 0, count: oh * ow), count: 5)
            rows = [Double](repeating: 0, count: h * ow)
        }
    }

    /// Mean of one plane's SSIM map. The Gaussian is separable: filter rows, then columns.
    func planeMean(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, h: Int, w: Int, _ s: inout Scratch) -> Double {
        let k = window, oh = h - k + 1, ow = w - k + 1
        // Signals: a, b, a*a, b*b, a*b, each filtered into maps[0...4].
        for signal in 0..<5 {
            s.rows.withUnsafeMutableBufferPointer { rows in
                taps.withUnsafeBufferPointer { g in
                    for yy in 0..<h {
                        let ra = a + yy * w, rb = b + yy * w
                        for xx in 0..<ow {
                            var acc = 0.0
                            for t in 0..<k {
                                let u = Double(ra[xx + t]), v = Double(rb[xx + t])
                                let value: Double
                                switch signal {
                                case 0: value = u
                                case 1: value = v
                                case 2: value = u * u
                                case 3: value = v * v
                                default: value = u * v
                                }
                                acc += g[t] * value
                            }
                            rows[yy * ow + xx] = acc
                        }
                    }
                }
            }
            s.maps[signal].withUnsafeMutableBufferPointer { out in
                s.rows.withUnsafeBufferPointer { rows in
                    taps.withUnsafeBufferPointer { g in
                        for yy in 0..<oh {
                            for xx in 0..<ow {
                                var acc = 0.0
                                for t in 0..<k { acc += g[t] * rows[(yy + t) * ow + xx] }
                                out[yy * ow + xx] = acc
                            }
                        }
                    }
                }
            }
        }
        let c1 = (0.01 * dataRange) * (0.01 * dataRange), c2 = (0.03 * dataRange) * (0.03 * dataRange)
        var total = 0.0
        for i in 0..<(oh * ow) {
            let mx = s.maps[0][i], my = s.maps[1][i]
            let vx = s.maps[2][i] - mx * mx, vy = s.maps[3][i] - my * my, cxy = s.maps[4][i] - mx * my
            total += ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
        }
        return total / Double(oh * ow)
    }
}

/// Mean SSIM with the standard parameters (11x11 Gaussian, sigma 1.5, data in [0, 1]).
public func ssim(_ x: Tensor, _ y: Tensor) throws -> Double { try SSIM().mean(x, y) }
