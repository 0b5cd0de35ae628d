/// A per-axis pair (height, width) for kernel sizes, strides, paddings and dilations.
/// Write one Int for both axes (`stride: 2`) or `[h, w]` for each (`padding: [1, 0]`).
public struct Size2D: Equatable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, CustomStringConvertible {
    public var h: Int
    public var w: Int

    public init(_ h: Int, _ w: Int) {
        self.h = h
        self.w = w
    }

    public init(_ both: Int) { self.init(both, both) }
    public init(integerLiteral value: Int) { self.init(value, value) }

    public init(arrayLiteral elements: Int...) {
        precondition(elements.count == 2, "a 2-D size needs [h, w], got \(elements)")
        self.init(elements[0], elements[1])
    }

    /// "3" for a square pair, "3x5" otherwise.
    public var description: String { h == w ? "\(h)" : "\(h)x\(w)" }
    /// "3x3" even when square: kernel sizes in summaries.
    package var area: String { "\(h)x\(w)" }
}

/// The padding of a convolution: explicit zeros on each side, or "same" (stride 1 only), which
/// keeps the spatial size as PyTorch's `padding='same'` does: a total of dilation*(kernel-1) per
/// axis, half before and the rest (one more for even kernels) after.
public enum ConvPadding: Equatable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, CustomStringConvertible {
    case explicit(Size2D)
    case same

    public init(integerLiteral value: Int) { self = .explicit(Size2D(value)) }
    public init(arrayLiteral elements: Int...) {
        precondition(elements.count == 2, "a 2-D padding needs [h, w], got \(elements)")
        self = .explicit(Size2D(elements[0], elements[1]))
    }

    public var description: String {
        switch self {
        case .explicit(let p): return "\(p)"
        case .same: return "same"
        }
    }

    /// Zeros before (top, left) and after (bottom, right) the image.
    package func resolved(kernel: Size2D, dilation: Size2D) -> (before: Size2D, after: Size2D) {
        switch self {
        case .explicit(let p): return (p, p)
        case .same:
            let totalH = dilation.h * (kernel.h - 1), totalW = dilation.w * (kernel.w - 1)
            return (Size2D(totalH / 2, totalW / 2), Size2D(totalH - totalH / 2, totalW - totalW / 2))
        }
    }
}

/// How a kernel window slides over an image: the image side (conv2d's input, convTranspose2d's
/// output) and the grid of window positions (conv2d's output, convTranspose2d's input).
/// The columns matrix of `im2col` has one row per (channel, ky, kx) and one column per position.
struct ConvGeometry {
    let channels: Int, height: Int, width: Int
    let kernel: Size2D, stride: Size2D, dilation: Size2D
    /// Zeros before the first row and column; those after only shape `outH`/`outW`.
    let padBefore: Size2D
    let outH: Int, outW: Int

    /// Window positions of a convolution over an image with padding `before`/`after`.
    init(channels: Int, height: Int, width: Int, kernel: Size2D, stride: Size2D, dilation: Size2D,
         padBefore: Size2D, padAfter: Size2D) {
        self.init(channels: channels, height: height, width: width, kernel: kernel, stride: stride, dilation: dilation,
                  padBefore: padBefore,
                  outH: convOutputLength(height, kernel.h, stride.h, padBefore.h + padAfter.h, dilation.h),
                  outW: convOutputLength(width, kernel.w, stride.w, padBefore.w + padAfter.w, dilation.w))
    }

    init(channels: Int, height: Int, width: Int, kernel: Size2D, stride: Size2D, dilation: Size2D,
         padBefore: Size2D, outH: Int, outW: Int) {
        self.channels = channels
        self.height = height
        self.width = width
        self.kernel = kernel
        self.stride = stride
        self.dilation = dilation
        self.padBefore = padBefore
        self.outH = outH
        self.outW = outW
    }

    var imageArea: Int { height * width }
    var imageSize: Int { channels * height * width }
    /// Window positions per image.
    var positions: Int { outH * outW }
    /// Rows of the columns matrix: one per (channel, ky, kx).
    var columnRows: Int { channels * kernel.h * kernel.w }

    /// The positions `lo..<hi` along one axis whose tap at `offset` (= k*dilation - pad) falls
    /// inside an axis of `length`: 0 <= p*stride + offset < length.
    @inline(__always)
    static func validRange(offset: Int, stride: Int, length: Int, positions: Int) -> (Int, Int) {
        let lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let last = length - 1 - offset
        let hi = last < 0 ? 0 : last / stride + 1
        let clampedLo = Swift.min(lo, positions)
        return (clampedLo, Swift.max(clampedLo, Swift.min(hi, positions)))
    }
}

/// PyTorch's output length of a convolution (pooling without ceil mode too).
package func convOutputLength(_ length: Int, _ kernel: Int, _ stride: Int, _ totalPadding: Int, _ dilation: Int) -> Int {
    let span = length + totalPadding - dilation * (kernel - 1) - 1
    return span < 0 ? 0 : span / stride + 1
}

/// [images, channels, area] (a slice of an NCHW batch) -> [channels, images * area], so one GEMM
/// covers several images.
func channelsFirst(_ src: UnsafePointer<Float>, images: Int, channels: Int, area: Int, into dst: UnsafeMutablePointer<Float>) {
    for image in 0..<images {
        for c in 0..<channels {
            (dst + (c * images + image) * area).update(from: src + (image * channels + c) * area, count: area)
        }
    }
}

/// [channels, images * area] -> [images, channels, area], adding `bias[channel]` if given, and
/// adding onto `dst` instead of overwriting it if `accumulate`.
func imagesFirst(_ src: UnsafePointer<Float>, images: Int, channels: Int, area: Int, bias: UnsafePointer<Float>?,
                 accumulate: Bool, into dst: UnsafeMutablePointer<Float>) {
    for image in 0..<images {
        for c in 0..<channels {
            let s = src + (c * images + image) * area, d = dst + (image * channels + c) * area
            let b = bias?[c] ?? 0
            if accumulate {
                for i in 0..<area { d[i] += s[i] + b }
            } else {
                for i in 0..<area { d[i] = s[i] + b }
            }
        }
    }
}

/// Adds the sum over images and positions of each channel of an NCHW gradient to `db`.
func accumulateChannelSums(_ g: UnsafePointer<Float>, images: Int, channels: Int, area: Int, into db: UnsafeMutablePointer<Float>) {
    for image in 0..<images {
        for c in 0..<channels { db[c] += contiguousSum(g + (image * channels + c) * area, count: area) }
    }
}

/// The sum of `count` floats, in eight interleaved partial sums: a single running sum is one long
/// chain of dependent additions, several times slower.
@inline(__always)
func contiguousSum(_ x: UnsafePointer<Float>, count: Int) -> Float {
    var partial = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
        partial += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var total = partial.sum()
    while i < count {
        total += x[i]
        i += 1
    }
    return total
}

/// Columns kept from a forward pass for its backward pass, which frees them once used
/// (a second backward recomputes them).
final class KeptColumns {
    private(set) var data: UnsafeMutablePointer<Float>?
    init(count: Int) { data = .allocate(capacity: Swift.max(count, 1)) }
    func release() {
        data?.deallocate()
        data = nil
    }
    deinit { release() }
}

/// Uninitialised float memory for one call; a count of 0 gives nil. Freed with `deallocate()`.
@inline(__always)
func scratch(_ count: Int) -> UnsafeMutablePointer<Float>? {
    count > 0 ? .allocate(capacity: count) : nil
}

/// How the images of a batch are grouped for the GEMMs of a convolution.
/// Small feature maps give GEMMs too narrow for BLAS to run at speed, so several images share one
/// (at the cost of reordering their data); large ones run one image per GEMM, straight to NCHW.
struct ConvBatching {
    /// Images per GEMM.
    let groupSize: Int
    let batch: Int

    /// Enough columns (positions) per GEMM for BLAS to be efficient.
    static let targetColumns = 2048
    /// Feature maps with at least this many positions get a GEMM of their own.
    static let soloPositions = 512
    /// Columns for the whole batch are kept from forward to backward below this many floats
    /// (16 MB): small layers then skip the second im2col; large ones recompute it.
    static let keptColumnsLimit = 4 << 20

    init(batch: Int, positions: Int) {
        self.batch = batch
        // Large maps alone make a wide enough GEMM; grouping them would only add reordering.
        let wanted = positions >= ConvBatching.soloPositions ? 1 : (ConvBatching.targetColumns + positions - 1) / Swift.max(positions, 1)
        groupSize = Swift.max(1, Swift.min(batch, wanted))
    }

    /// (first image, image count) of each group.
    var groups: [(start: Int, count: Int)] {
        stride(from: 0, to: batch, by: groupSize).map { ($0, Swift.min(groupSize, batch - $0)) }
    }
}
