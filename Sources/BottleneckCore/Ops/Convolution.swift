/// 2-D convolution and transposed convolution on NCHW batches, as im2col + GEMM.
///
/// conv2d: columns [Cin*kh*kw, positions] = im2col(x); out [Cout, positions] = W [Cout, Cin*kh*kw] x columns.
/// convTranspose2d is its adjoint: columns = W^T x x, out = col2im(columns). Each one's backward
/// uses the other's forward steps. Images are grouped per GEMM as `ConvBatching` decides.
extension Tensor {
    /// PyTorch's `F.conv2d`: input [N, Cin, H, W], weight [Cout, Cin, kh, kw], bias [Cout].
    public func conv2d(weight: Tensor, bias: Tensor? = nil, stride: Size2D = 1, padding: ConvPadding = 0,
                       dilation: Size2D = 1) -> Tensor {
        let x = self, w = weight
        precondition(x.rank == 4, "conv2d: input must be [N, C, H, W], got \(x.shape)")
        precondition(w.rank == 4 && w.shape[1] == x.shape[1],
                     "conv2d: weight \(w.shape) does not fit input \(x.shape) (needs [Cout, \(x.shape[1]), kh, kw])")
        precondition(stride.h > 0 && stride.w > 0 && dilation.h > 0 && dilation.w > 0, "conv2d: stride and dilation must be positive")
        precondition(padding != .same || stride == 1, "conv2d: padding 'same' needs stride 1")
        if case .explicit(let p) = padding { precondition(p.h >= 0 && p.w >= 0, "conv2d: padding \(p) must not be negative") }
        let n = x.shape[0], cout = w.shape[0]
        let kernel = Size2D(w.shape[2], w.shape[3])
        let pad = padding.resolved(kernel: kernel, dilation: dilation)
        let geo = ConvGeometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3], kernel: kernel, stride: stride,
                               dilation: dilation, padBefore: pad.before, padAfter: pad.after)
        precondition(geo.outH > 0 && geo.outW > 0,
                     "conv2d: input \(x.shape) is smaller than the kernel \(kernel.area) (padding \(padding), dilation \(dilation))")
        if let bias { precondition(bias.shape == [cout], "conv2d: bias \(bias.shape) does not fit \(cout) output channels") }

        // With stride 1, a convolution is the transposed convolution of its flipped kernel. Its
        // columns have one row per output channel and tap instead of one per input channel and tap:
        // far less data when the layer narrows (64 -> 1).
        let adjointPadding = Size2D(dilation.h * (kernel.h - 1) - pad.before.h, dilation.w * (kernel.w - 1) - pad.before.w)
        if stride == 1 && pad.before == pad.after && adjointPadding.h >= 0 && adjointPadding.w >= 0
            && cout * x.shape[2] * x.shape[3] < x.shape[1] * geo.positions {
            return x.convTranspose2d(weight: w.flippedKernels(), bias: bias, padding: adjointPadding, dilation: dilation)
        }

        let rows = geo.columnRows, positions = geo.positions
        let batching = ConvBatching(batch: n, positions: positions)
        let groupColumns = batching.groupSize * positions
        // The columns are kept when backward will need them for the weight gradient and they are small.
        let keep = GradientMode.isRecording && w.requiresGrad && rows * n * positions <= ConvBatching.keptColumnsLimit
        let kept: KeptColumns? = keep ? KeptColumns(count: rows * n * positions) : nil

        let parents = [x, w] + (bias.map { [$0] } ?? [])
        let out = Tensor.result(shape: [n, cout, geo.outH, geo.outW], parents: parents) { out in
            let g = out.grad!
            let dx = x.requiresGrad ? x.gradBuffer() : nil, dw = w.requiresGrad ? w.gradBuffer() : nil
            let columns = scratch(rows * groupColumns)!, gathered = scratch(batching.groupSize > 1 ? cout * groupColumns : 0)
            defer { columns.deallocate(); gathered?.deallocate() }
            let keptColumns = kept?.data
            for (start, count) in batching.groups {
                let wide = count * positions
                var gOut = UnsafePointer(g + start * cout * positions)
                if let gathered {
                    channelsFirst(gOut, images: count, channels: cout, area: positions, into: gathered)
                    gOut = UnsafePointer(gathered)
                }
                if let dw {
                    // dW += dOut [Cout, wide] x columns^T
                    var cols = UnsafePointer(columns)
                    if let keptColumns { cols = UnsafePointer(keptColumns + start * rows * positions) } else {
                        im2col(x.data + start * geo.imageSize, images: count, geo, into: columns)
                    }
                    sgemm(transB: true, m: cout, n: rows, k: wide, a: gOut, lda: wide, b: cols, ldb: wide, beta: 1, c: dw, ldc: rows)
                }
                if let dx {
                    // dColumns = W^T x dOut, scattered back onto the pixels they were read from.
                    sgemm(transA: true, m: rows, n: wide, k: cout, a: w.data, lda: rows, b: gOut, ldb: wide, c: columns, ldc: wide)
                    col2im(columns, images: count, geo, addingInto: dx + start * geo.imageSize)
                }
            }
            kept?.release()
            if let bias, bias.requiresGrad {
                accumulateChannelSums(g, images: n, channels: cout, area: positions, into: bias.gradBuffer())
            }
        }

        let columns = kept == nil ? scratch(rows * groupColumns) : nil
        let product = scratch(batching.groupSize > 1 ? cout * groupColumns : 0)
        defer { columns?.deallocate(); product?.deallocate() }
        let keptColumns = kept?.data
        for (start, count) in batching.groups {
            let wide = count * positions
            let cols = keptColumns.map { $0 + start * rows * positions } ?? columns!
            im2col(x.data + start * geo.imageSize, images: count, geo, into: cols)
            let dst = out.data + start * cout * positions
            if let product {
                sgemm(m: cout, n: wide, k: rows, a: w.data, lda: rows, b: cols, ldb: wide, c: product, ldc: wide)
                imagesFirst(product, images: count, channels: cout, area: positions, bias: bias?.data, accumulate: false, into: dst)
            } else {
                if let bias { for c in 0..<cout { (dst + c * positions).update(repeating: bias.data[c], count: positions) } }
                sgemm(m: cout, n: positions, k: rows, a: w.data, lda: rows, b: cols, ldb: positions,
                      beta: bias == nil ? 0 : 1, c: dst, ldc: positions)
            }
        }
        return out
    }

    /// PyTorch's `F.conv_transpose2d`: input [N, Cin, H, W], weight [Cin, Cout, kh, kw], bias [Cout].
    /// Output size (H-1)*stride - 2*padding + dilation*(k-1) + outputPadding + 1.
    public func convTranspose2d(weight: Tensor, bias: Tensor? = nil, stride: Size2D = 1, padding: Size2D = 0,
                                outputPadding: Size2D = 0, dilation: Size2D = 1) -> Tensor {
        let x = self, w = weight
        precondition(x.rank == 4, "convTranspose2d: input must be [N, C, H, W], got \(x.shape)")
        precondition(w.rank == 4 && w.shape[0] == x.shape[1],
                     "convTranspose2d: weight \(w.shape) does not fit input \(x.shape) (needs [\(x.shape[1]), Cout, kh, kw])")
        precondition(stride.h > 0 && stride.w > 0 && dilation.h > 0 && dilation.w > 0,
                     "convTranspose2d: stride and dilation must be positive")
        precondition(padding.h >= 0 && padding.w >= 0, "convTranspose2d: padding \(padding) must not be negative")
        precondition(outputPadding.h >= 0 && outputPadding.w >= 0 && outputPadding.h < Swift.max(stride.h, dilation.h)
                     && outputPadding.w < Swift.max(stride.w, dilation.w),
                     "convTranspose2d: output padding \(outputPadding) must be smaller than the stride or the dilation")
        let n = x.shape[0], cin = x.shape[1], cout = w.shape[1]
        let kernel = Size2D(w.shape[2], w.shape[3])
        let outH = convTransposeOutputLength(x.shape[2], kernel.h, stride.h, padding.h, outputPadding.h, dilation.h)
        let outW = convTransposeOutputLength(x.shape[3], kernel.w, stride.w, padding.w, outputPadding.w, dilation.w)
        precondition(outH > 0 && outW > 0, "convTranspose2d: input \(x.shape) gives an empty output \([n, cout, outH, outW])")
        if let bias { precondition(bias.shape == [cout], "convTranspose2d: bias \(bias.shape) does not fit \(cout) output channels") }
        // The image side is the output; the window positions are the input pixels.
        let geo = ConvGeometry(channels: cout, height: outH, width: outW, kernel: kernel, stride: stride, dilation: dilation,
                               padBefore: padding, outH: x.shape[2], outW: x.shape[3])
        let rows = geo.columnRows, positions = geo.positions
        let batching = ConvBatching(batch: n, positions: positions)
        let groupColumns = batching.groupSize * positions

        let parents = [x, w] + (bias.map { [$0] } ?? [])
        let out = Tensor.result(shape: [n, cout, outH, outW], parents: parents) { out in
            let g = out.grad!
            let dx = x.requiresGrad ? x.gradBuffer() : nil, dw = w.requiresGrad ? w.gradBuffer() : nil
            let columns = scratch(rows * groupColumns)!, gathered = scratch(batching.groupSize > 1 ? cin * groupColumns : 0)
            defer { columns.deallocate(); gathered?.deallocate() }
            for (start, count) in batching.groups {
                let wide = count * positions
                im2col(g + start * geo.imageSize, images: count, geo, into: columns)
                if let dx {
                    // dX = W [Cin, rows] x columns
                    if let gathered {
                        sgemm(m: cin, n: wide, k: rows, a: w.data, lda: rows, b: columns, ldb: wide, c: gathered, ldc: wide)
                        imagesFirst(gathered, images: count, channels: cin, area: positions, bias: nil, accumulate: true,
                                    into: dx + start * cin * positions)
                    } else {
                        sgemm(m: cin, n: positions, k: rows, a: w.data, lda: rows, b: columns, ldb: positions,
                              beta: 1, c: dx + start * cin * positions, ldc: positions)
                    }
                }
                if let dw {
                    // dW += x [Cin, wide] x columns^T
                    var xs = UnsafePointer(x.data + start * cin * positions)
                    if let gathered {
                        channelsFirst(xs, images: count, channels: cin, area: positions, into: gathered)
                        xs = UnsafePointer(gathered)
                    }
                    sgemm(transB: true, m: cin, n: rows, k: wide, a: xs, lda: wide, b: columns, ldb: wide, beta: 1, c: dw, ldc: rows)
                }
            }
            if let bias, bias.requiresGrad {
                accumulateChannelSums(g, images: n, channels: cout, area: geo.imageArea, into: bias.gradBuffer())
            }
        }

        let o = out.data
        if let bias {
            for image in 0..<n {
                for c in 0..<cout { (o + (image * cout + c) * geo.imageArea).update(repeating: bias.data[c], count: geo.imageArea) }
            }
        } else {
            o.update(repeating: 0, count: out.count)
        }
        let columns = scratch(rows * groupColumns)!, gathered = scratch(batching.groupSize > 1 ? cin * groupColumns : 0)
        defer { columns.deallocate(); gathered?.deallocate() }
        for (start, count) in batching.groups {
            let wide = count * positions
            var xs = UnsafePointer(x.data + start * cin * positions)
            if let gathered {
                channelsFirst(xs, images: count, channels: cin, area: positions, into: gathered)
                xs = UnsafePointer(gathered)
            }
            // columns = W^T [rows, Cin] x x [Cin, wide]
            sgemm(transA: true, m: rows, n: wide, k: cin, a: w.data, lda: rows, b: xs, ldb: wide, c: columns, ldc: wide)
            col2im(columns, images: count, geo, addingInto: o + start * geo.imageSize)
        }
        return out
    }
}

/// PyTorch's output length of a transposed convolution.
package func convTransposeOutputLength(_ length: Int, _ kernel: Int, _ stride: Int, _ padding: Int, _ outputPadding: Int,
                               _ dilation: Int) -> Int {
    (length - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1
}

extension Tensor {
    /// [A, B, kh, kw] -> [B, A, kh, kw] with each kernel turned by 180 degrees: the weight of the
    /// transposed convolution that computes the same stride-1 convolution.
    func flippedKernels() -> Tensor {
        let w = self
        let (a, b, kh, kw) = (shape[0], shape[1], shape[2], shape[3]), taps = kh * kw
        let out = Tensor.result(shape: [b, a, kh, kw], parents: [w]) { out in
            let g = out.grad!, dw = w.gradBuffer()
            for i in 0..<a { for j in 0..<b { for t in 0..<taps { dw[(i * b + j) * taps + t] += g[(j * a + i) * taps + taps - 1 - t] } } }
        }
        let o = out.data
        for i in 0..<a { for j in 0..<b { for t in 0..<taps { o[(j * a + i) * taps + taps - 1 - t] = data[(i * b + j) * taps + t] } } }
        return out
    }
}
