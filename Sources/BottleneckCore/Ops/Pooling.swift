/// Max and average pooling over NCHW batches, PyTorch's semantics (no ceil mode, no dilation).
extension Tensor {
    /// PyTorch's `F.max_pool2d`. Padding counts as -infinity; the gradient goes to the first
    /// maximum of each window in row-major order (PyTorch's tie rule); a NaN wins, as in PyTorch.
    public func maxPool2d(kernel: Size2D, stride: Size2D? = nil, padding: Size2D = 0) -> Tensor {
        let x = self
        let (rows, cols) = poolWindows("maxPool2d", kernel: kernel, stride: stride ?? kernel, padding: padding)
        let planes = shape[0] * shape[1], width = shape[3], area = shape[2] * width
        let outH = rows.count, outW = cols.count, positions = outH * outW
        // Index of each output's winner within its input plane, for backward.
        let winners = IndexBuffer(count: planes * positions)
        let out = Tensor.result(shape: [shape[0], shape[1], outH, outW], parents: [x]) { out in
            let g = out.grad!, dx = x.gradBuffer(), w = winners.data
            for p in 0..<planes {
                let gp = g + p * positions, dp = dx + p * area, wp = w + p * positions
                for i in 0..<positions { dp[Int(wp[i])] += gp[i] }
            }
        }
        let o = out.data, w = winners.data
        let halving = kernel == 2 && (stride ?? kernel) == 2 && padding == 0
        for p in 0..<planes {
            let plane = data + p * area, op = o + p * positions, wp = w + p * positions
            for (oy, r) in rows.enumerated() {
                let dst = op + oy * outW, at = wp + oy * outW
                if halving {
                    maxOfPairs(top: plane + r.start * width, bottom: plane + r.start * width + width, firstIndex: r.start * width,
                               width: width, count: outW, into: dst, winners: at)
                    continue
                }
                for (ox, c) in cols.enumerated() {
                    var best = -Float.infinity, index = r.start * width + c.start
                    for y in r.start..<r.end {
                        for k in (y * width + c.start)..<(y * width + c.end) { keepMax(plane, k, &best, &index) }
                    }
                    dst[ox] = best
                    at[ox] = Int32(index)
                }
            }
        }
        return out
    }

    /// PyTorch's `F.avg_pool2d`. With `countIncludePad` (PyTorch's default) padded zeros count in
    /// each window's divisor; otherwise only the pixels inside the image do.
    public func avgPool2d(kernel: Size2D, stride: Size2D? = nil, padding: Size2D = 0, countIncludePad: Bool = true) -> Tensor {
        let x = self
        let (rows, cols) = poolWindows("avgPool2d", kernel: kernel, stride: stride ?? kernel, padding: padding)
        let planes = shape[0] * shape[1], width = shape[3], area = shape[2] * width
        let outH = rows.count, outW = cols.count, positions = outH * outW
        var divisors = [Float]()
        divisors.reserveCapacity(positions)
        for r in rows {
            for c in cols { divisors.append(Float(countIncludePad ? r.padded * c.padded : (r.end - r.start) * (c.end - c.start))) }
        }
        let out = Tensor.result(shape: [shape[0], shape[1], outH, outW], parents: [x]) { out in
            let g = out.grad!, dx = x.gradBuffer()
            for p in 0..<planes {
                let gp = g + p * positions, dp = dx + p * area
                for (oy, r) in rows.enumerated() {
                    for (ox, c) in cols.enumerated() {
                        let v = gp[oy * outW + ox] / divisors[oy * outW + ox]
                        for y in r.start..<r.end { for k in (y * width + c.start)..<(y * width + c.end) { dp[k] += v } }
                    }
                }
            }
        }
        let o = out.data
        for p in 0..<planes {
            let plane = data + p * area, op = o + p * positions
            for (oy, r) in rows.enumerated() {
                for (ox, c) in cols.enumerated() {
                    var acc: Float = 0
                    for y in r.start..<r.end { for k in (y * width + c.start)..<(y * width + c.end) { acc += plane[k] } }
                    op[oy * outW + ox] = acc / divisors[oy * outW + ox]
                }
            }
        }
        return out
    }

    /// Checks a pooling input and its parameters; the windows along each axis.
    private func poolWindows(_ op: String, kernel: Size2D, stride: Size2D, padding: Size2D) -> ([PoolWindow], [PoolWindow]) {
        precondition(rank == 4, "\(op): input must be [N, C, H, W], got \(shape)")
        precondition(kernel.h > 0 && kernel.w > 0 && stride.h > 0 && stride.w > 0, "\(op): kernel and stride must be positive")
        precondition(padding.h >= 0 && padding.w >= 0 && padding.h * 2 <= kernel.h && padding.w * 2 <= kernel.w,
                     "\(op): padding \(padding) must be at most half the kernel \(kernel.area)")
        let rows = PoolWindow.along(length: shape[2], kernel: kernel.h, stride: stride.h, padding: padding.h)
        let cols = PoolWindow.along(length: shape[3], kernel: kernel.w, stride: stride.w, padding: padding.w)
        precondition(!rows.isEmpty && !cols.isEmpty, "\(op): input \(shape) is smaller than the kernel \(kernel.area)")
        return (rows, cols)
    }
}

/// Max pooling's step: pixel `k` replaces the best so far if larger, or NaN (as in PyTorch).
/// Without branches: which pixel wins is data, and mispredicted branches cost more than the compare.
@inline(__always)
private func keepMax(_ plane: UnsafePointer<Float>, _ k: Int, _ best: inout Float, _ index: inout Int) {
    let v = plane[k]
    let take = unsafeBitCast(v > best, to: UInt8.self) | unsafeBitCast(v.isNaN, to: UInt8.self)
    let mask = 0 &- UInt32(take)
    best = Float(bitPattern: (v.bitPattern & mask) | (best.bitPattern & ~mask))
    index = index &+ (k &- index) &* Int(take)
}

/// 2x2 max pooling of one pair of rows, four windows at a time in SIMD lanes; the winner in each
/// window is the first maximum in row-major order, or a NaN.
private func maxOfPairs(top: UnsafePointer<Float>, bottom: UnsafePointer<Float>, firstIndex: Int, width: Int, count: Int,
                        into dst: UnsafeMutablePointer<Float>, winners: UnsafeMutablePointer<Int32>) {
    var ox = 0
    while ox + 4 <= count {
        let upper = UnsafeRawPointer(top + 2 * ox).loadUnaligned(as: SIMD8<Float>.self)
        let lower = UnsafeRawPointer(bottom + 2 * ox).loadUnaligned(as: SIMD8<Float>.self)
        let base = SIMD4<Int32>(repeating: Int32(firstIndex + 2 * ox)) &+ SIMD4<Int32>(0, 2, 4, 6)
        var best = upper.evenHalf, index = base
        @inline(__always) func consider(_ candidate: SIMD4<Float>, _ offset: Int) {
            let take = (candidate .> best) .| (candidate .!= candidate)
            best.replace(with: candidate, where: take)
            index.replace(with: base &+ Int32(offset), where: take)
        }
        consider(upper.oddHalf, 1)
        consider(lower.evenHalf, width)
        consider(lower.oddHalf, width + 1)
        UnsafeMutableRawPointer(dst + ox).storeBytes(of: best, as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(winners + ox).storeBytes(of: index, as: SIMD4<Int32>.self)
        ox += 4
    }
    let plane = top - firstIndex
    while ox < count {
        let k = firstIndex + 2 * ox
        var best = plane[k], index = k
        keepMax(plane, k + 1, &best, &index)
        keepMax(plane, k + width, &best, &index)
        keepMax(plane, k + width + 1, &best, &index)
        dst[ox] = best
        winners[ox] = Int32(index)
        ox += 1
    }
}

/// One pooling window along one axis: the pixels `start..<end` inside the image, and its length
/// counting padding (PyTorch's divisor with count_include_pad).
struct PoolWindow {
    let start: Int, end: Int, padded: Int

    static func along(length: Int, kernel: Int, stride: Int, padding: Int) -> [PoolWindow] {
        (0..<convOutputLength(length, kernel, stride, 2 * padding, 1)).map { o in
            let first = o * stride - padding, last = Swift.min(first + kernel, length + padding)
            return PoolWindow(start: Swift.max(first, 0), end: Swift.min(last, length), padded: last - first)
        }
    }
}

/// Int32 indices owned by an op and its backward rule.
final class IndexBuffer {
    let data: UnsafeMutablePointer<Int32>
    init(count: Int) { data = .allocate(capacity: Swift.max(count, 1)) }
    deinit { data.deallocate() }
}
