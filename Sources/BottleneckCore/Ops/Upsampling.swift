/// Up-sampling of NCHW batches by whole factors, as PyTorch's `F.interpolate(scale_factor:)`.
extension Tensor {
    /// Nearest neighbour: output pixel (y, x) copies input pixel (y / scale, x / scale).
    public func upsampleNearest2d(scale: Size2D) -> Tensor {
        let x = self
        precondition(rank == 4, "upsampleNearest2d: input must be [N, C, H, W], got \(shape)")
        precondition(scale.h > 0 && scale.w > 0, "upsampleNearest2d: scale \(scale) must be positive")
        let planes = shape[0] * shape[1], h = shape[2], w = shape[3], sh = scale.h, sw = scale.w
        let outH = h * sh, outW = w * sw
        let out = Tensor.result(shape: [shape[0], shape[1], outH, outW], parents: [x]) { out in
            let g = out.grad!, dx = x.gradBuffer()
            for p in 0..<planes {
                let gp = g + p * outH * outW, dp = dx + p * h * w
                for iy in 0..<h {
                    let d = dp + iy * w
                    for r in 0..<sh {
                        let row = gp + (iy * sh + r) * outW
                        var ix = 0
                        if sw == 2 {  // the common factor: pairs summed four at a time
                            while ix + 4 <= w {
                                let pairs = UnsafeRawPointer(row + 2 * ix).loadUnaligned(as: SIMD8<Float>.self)
                                let sums = UnsafeRawPointer(d + ix).loadUnaligned(as: SIMD4<Float>.self) + (pairs.evenHalf + pairs.oddHalf)
                                UnsafeMutableRawPointer(d + ix).storeBytes(of: sums, as: SIMD4<Float>.self)
                                ix += 4
                            }
                        }
                        while ix < w {
                            var acc: Float = 0
                            for c in 0..<sw { acc += row[ix * sw + c] }
                            d[ix] += acc
                            ix += 1
                        }
                    }
                }
            }
        }
        let o = out.data
        for p in 0..<planes {
            let op = o + p * outH * outW, sp = data + p * h * w
            for iy in 0..<h {
                let src = sp + iy * w, first = op + iy * sh * outW
                for ix in 0..<w {
                    let v = src[ix]
                    for c in 0..<sw { first[ix * sw + c] = v }
                }
                for r in 1..<sh { (first + r * outW).update(from: first, count: outW) }
            }
        }
        return out
    }

    /// Bilinear, as PyTorch: with `alignCorners` false (its default) output pixel y reads the input
    /// at max(0, (y + 0.5) / scale - 0.5); with it true, at y * (H - 1) / (outH - 1). Each reads its
    /// two nearest rows (columns likewise), in two passes with PyTorch's order of operations.
    public func upsampleBilinear2d(scale: Size2D, alignCorners: Bool = false) -> Tensor {
        let x = self
        precondition(rank == 4, "upsampleBilinear2d: input must be [N, C, H, W], got \(shape)")
        precondition(scale.h > 0 && scale.w > 0, "upsampleBilinear2d: scale \(scale) must be positive")
        let planes = shape[0] * shape[1], h = shape[2], w = shape[3], outH = h * scale.h, outW = w * scale.w
        let rows = bilinearTaps(input: h, output: outH, scale: scale.h, alignCorners: alignCorners)
        let cols = bilinearTaps(input: w, output: outW, scale: scale.w, alignCorners: alignCorners)
        let out = Tensor.result(shape: [shape[0], shape[1], outH, outW], parents: [x]) { out in
            let g = out.grad!, dx = x.gradBuffer()
            // Adjoint of each pass in reverse: gradient of the widened rows, then of the input.
            let wide = UnsafeMutablePointer<Float>.allocate(capacity: h * outW)
            defer { wide.deallocate() }
            for p in 0..<planes {
                let gp = g + p * outH * outW, dp = dx + p * h * w
                wide.update(repeating: 0, count: h * outW)
                for (oy, r) in rows.enumerated() {
                    let src = gp + oy * outW, top = wide + r.i0 * outW, bottom = wide + r.i1 * outW
                    for ox in 0..<outW { top[ox] += r.w0 * src[ox] }
                    for ox in 0..<outW { bottom[ox] += r.w1 * src[ox] }
                }
                for iy in 0..<h {
                    let src = wide + iy * outW, d = dp + iy * w
                    for (ox, c) in cols.enumerated() {
                        d[c.i0] += c.w0 * src[ox]
                        d[c.i1] += c.w1 * src[ox]
                    }
                }
            }
        }
        let wide = UnsafeMutablePointer<Float>.allocate(capacity: h * outW)
        defer { wide.deallocate() }
        for p in 0..<planes {
            let sp = data + p * h * w, op = out.data + p * outH * outW
            for iy in 0..<h {
                let src = sp + iy * w, dst = wide + iy * outW
                for (ox, c) in cols.enumerated() { dst[ox] = c.w0 * src[c.i0] + c.w1 * src[c.i1] }
            }
            for (oy, r) in rows.enumerated() {
                let top = wide + r.i0 * outW, bottom = wide + r.i1 * outW, dst = op + oy * outW
                for ox in 0..<outW { dst[ox] = r.w0 * top[ox] + r.w1 * bottom[ox] }
            }
        }
        return out
    }
}

/// The two input indices and weights behind one output index of bilinear interpolation.
struct BilinearTap { let i0: Int, i1: Int; let w0: Float, w1: Float }

/// PyTorch's `area_pixel_compute_source_index` for every output index.
func bilinearTaps(input: Int, output: Int, scale: Int, alignCorners: Bool) -> [BilinearTap] {
    let ratio = alignCorners ? (output > 1 ? Float(input - 1) / Float(output - 1) : 0) : 1 / Float(scale)
    return (0..<output).map { dst in
        let source = alignCorners ? ratio * Float(dst) : Swift.max(ratio * (Float(dst) + 0.5) - 0.5, 0)
        let i0 = Swift.min(Int(source), input - 1)
        let i1 = i0 < input - 1 ? i0 + 1 : i0
        let lambda = source - Float(i0)
        return BilinearTap(i0: i0, i1: i1, w0: 1 - lambda, w1: lambda)
    }
}
