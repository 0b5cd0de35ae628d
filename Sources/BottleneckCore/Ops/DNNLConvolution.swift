import CDNNL
import Foundation

/// oneDNN's convolution for one fixed geometry (input shape, kernel, padding, dilation, bias or
/// not): primitives, reorders to and from its blocked layouts, and the buffers they use, made once
/// and reused by every call. Conv2D keeps a few of these, keyed by input shape.
package final class DNNLConvolution {
    let inputShape: [Int]
    let outputShape: [Int]
    let weightShape: [Int]
    let hasBias: Bool
    private let handle: OpaquePointer
    /// The handle's buffers serve one call at a time; a model scoring requests on several threads
    /// takes turns here instead of corrupting them.
    private let lock = NSLock()

    /// nil when oneDNN cannot build this convolution (the caller falls back to im2col).
    package init?(input: [Int], outChannels: Int, kernel: Size2D, stride: Size2D, padBefore: Size2D, padAfter: Size2D,
          dilation: Size2D, bias: Bool) {
        guard input.count == 4, let h = conv_dnnl_create(
            Int32(input[0]), Int32(input[1]), Int32(input[2]), Int32(input[3]), Int32(outChannels),
            Int32(kernel.h), Int32(kernel.w), Int32(stride.h), Int32(stride.w),
            Int32(padBefore.h), Int32(padBefore.w), Int32(padAfter.h), Int32(padAfter.w),
            Int32(dilation.h), Int32(dilation.w), bias ? 1 : 0) else { return nil }
        handle = h
        inputShape = input
        outputShape = [input[0], outChannels, Int(conv_dnnl_out_h(h)), Int(conv_dnnl_out_w(h))]
        weightShape = [outChannels, input[1], kernel.h, kernel.w]
        hasBias = bias
    }

    /// The convolution whose adjoint is the transposed convolution of `input` [N, Cin, H, W] to
    /// `outChannels` (PyTorch's ConvTranspose2d geometry): its input is that output [N, Cout, H', W'],
    /// its output `input`'s shape, and its weight [Cin, Cout, kh, kw] is the transposed one's. nil
    /// when no zero padding after makes the sizes meet (output padding beyond the stride) or oneDNN
    /// cannot build it.
    package convenience init?(transposedInput input: [Int], outChannels: Int, kernel: Size2D, stride: Size2D,
                              padding: Size2D, outputPadding: Size2D, dilation: Size2D) {
        guard input.count == 4 else { return nil }
        let outH = convTransposeOutputLength(input[2], kernel.h, stride.h, padding.h, outputPadding.h, dilation.h)
        let outW = convTransposeOutputLength(input[3], kernel.w, stride.w, padding.w, outputPadding.w, dilation.w)
        // The output's last output-padding rows are read by no window; padding after of
        // padding - outputPadding (at least 0) leaves exactly H windows.
        let after = Size2D(Swift.max(0, padding.h - outputPadding.h), Swift.max(0, padding.w - outputPadding.w))
        guard outH > 0, outW > 0,
              convOutputLength(outH, kernel.h, stride.h, padding.h + after.h, dilation.h) == input[2],
              convOutputLength(outW, kernel.w, stride.w, padding.w + after.w, dilation.w) == input[3] else { return nil }
        self.init(input: [input[0], outChannels, outH, outW], outChannels: input[1], kernel: kernel, stride: stride,
                  padBefore: padding, padAfter: after, dilation: dilation, bias: false)
    }

    deinit { conv_dnnl_destroy(handle) }

    // The run functions write their outputs. They fail only on a oneDNN runtime error. (Not
    // `precondition(call == 0)`: -Ounchecked skips a precondition's condition, call included.)
    func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                 into out: UnsafeMutablePointer<Float>) {
        runLocked(conv_dnnl_forward(handle, x, w, bias, out), "forward")
    }

    func backwardData(_ g: UnsafePointer<Float>, _ w: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        runLocked(conv_dnnl_backward_data(handle, g, w, dx), "backward (data)")
    }

    func backwardWeights(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, into dw: UnsafeMutablePointer<Float>,
                         bias db: UnsafeMutablePointer<Float>?) {
        runLocked(conv_dnnl_backward_weights(handle, x, g, dw, db), "backward (weights)")
    }

    private func runLocked(_ run: @autoclosure () -> Int32, _ pass: String) {
        lock.lock()
        let status = run()
        lock.unlock()
        if status != 0 { fatalError("oneDNN convolution \(pass) failed for input \(inputShape)") }
    }
}

extension Tensor {
    /// `conv2d` run by oneDNN with the geometry `conv` was made for (stride, padding and dilation
    /// are fixed there). Same results as `conv2d` to rounding.
    package func conv2d(weight: Tensor, bias: Tensor?, using conv: DNNLConvolution) -> Tensor {
        let x = self, w = weight
        precondition(x.shape == conv.inputShape && w.shape == conv.weightShape && (bias != nil) == conv.hasBias,
                     "conv2d: input \(x.shape) / weight \(w.shape) do not fit the oneDNN convolution made for \(conv.inputShape)")
        let parents = [x, w] + (bias.map { [$0] } ?? [])
        let out = Tensor.result(shape: conv.outputShape, parents: parents) { out in
            let g = UnsafePointer(out.grad!)
            if x.requiresGrad {
                write(into: x) { conv.backwardData(g, w.data, into: $0) }
            }
            if w.requiresGrad {
                let db = bias.flatMap { $0.requiresGrad ? $0.gradDestination() : nil }
                let dw = w.gradDestination()
                let dwScratch = dw.accumulate ? scratch(w.count) : nil
                let dbScratch = db?.accumulate == true ? scratch(bias!.count) : nil
                defer { dwScratch?.deallocate(); dbScratch?.deallocate() }
                conv.backwardWeights(x.data, g, into: dwScratch ?? dw.buffer, bias: dbScratch ?? db?.buffer)
                if let dwScratch { addInPlace(dw.buffer, dwScratch, count: w.count) }
                if let dbScratch, let db { addInPlace(db.buffer, dbScratch, count: bias!.count) }
            } else if let bias, bias.requiresGrad {
                let (n, c, oh, ow) = (conv.outputShape[0], conv.outputShape[1], conv.outputShape[2], conv.outputShape[3])
                accumulateChannelSums(g, images: n, channels: c, area: oh * ow, into: bias.gradBuffer())
            }
        }
        conv.forward(x.data, w.data, bias?.data, into: out.data)
        return out
    }
}

extension Tensor {
    /// `convTranspose2d` run by oneDNN as the adjoint of `conv` (made with
    /// `DNNLConvolution(transposedInput:...)`): its backward-data pass is this forward, its forward
    /// this input gradient, its weight gradient with the roles of data and gradient swapped this
    /// weight gradient. Same results as `convTranspose2d` to rounding.
    package func convTranspose2d(weight: Tensor, bias: Tensor?, using conv: DNNLConvolution) -> Tensor {
        let x = self, w = weight
        precondition(x.shape == conv.outputShape && w.shape == conv.weightShape && !conv.hasBias,
                     "convTranspose2d: input \(x.shape) / weight \(w.shape) do not fit the oneDNN convolution made for \(conv.outputShape)")
        let (n, cout, area) = (conv.inputShape[0], conv.inputShape[1], conv.inputShape[2] * conv.inputShape[3])
        let parents = [x, w] + (bias.map { [$0] } ?? [])
        let out = Tensor.result(shape: conv.inputShape, parents: parents) { out in
            let g = UnsafePointer(out.grad!)
            if x.requiresGrad {
                write(into: x) { conv.forward(g, w.data, nil, into: $0) }
            }
            if w.requiresGrad {
                write(into: w) { conv.backwardWeights(g, x.data, into: $0, bias: nil) }
            }
            if let bias, bias.requiresGrad {
                accumulateChannelSums(g, images: n, channels: cout, area: area, into: bias.gradBuffer())
            }
        }
        conv.backwardData(x.data, w.data, into: out.data)
        if let bias {
            for image in 0..<n {
                for c in 0..<cout {
                    let b = bias.data[c], o = out.data + (image * cout + c) * area
                    for i in 0..<area { o[i] += b }
                }
            }
        }
        return out
    }
}

/// A layer's decisions per call geometry (`ConvolutionChoice`'s key: input shape, training or
/// inference, ...): the oneDNN convolution to run, or nil for im2col (oneDNN slower there, or
/// unable to build one). Most recent last. Only two are kept: each holds blocked copies of its
/// data, and a third (the partial last batch's, kept through evaluation) raised the denoise
/// workload's peak RSS by about 10 MB; making one again takes milliseconds, and the choice comes
/// from `ConvolutionChoice`'s cache, so it is the same. Eval-mode calls from several threads share it.
package final class DNNLConvolutionCache {
    package private(set) var entries: [(geometry: String, conv: DNNLConvolution?)] = []
    private static let size = 2
    private let lock = NSLock()

    package init() {}

    /// The decision made for `geometry` before, or `decide()`'s (kept).
    package func convolution(for geometry: String, decide: () -> DNNLConvolution?) -> DNNLConvolution? {
        lock.lock()
        defer { lock.unlock() }
        if let i = entries.firstIndex(where: { $0.geometry == geometry }) {
            let entry = entries.remove(at: i)
            entries.append(entry)
            return entry.conv
        }
        let conv = decide()
        if entries.count == DNNLConvolutionCache.size { entries.removeFirst() }
        entries.append((geometry, conv))
        return conv
    }
}

/// Runs `compute` into the gradient of `t`: straight into its buffer when it has no gradient yet,
/// else into a scratch buffer that is then added (oneDNN writes, never adds).
private func write(into t: Tensor, _ compute: (UnsafeMutablePointer<Float>) -> Void) {
    let (buffer, accumulate) = t.gradDestination()
    guard accumulate else { return compute(buffer) }
    let temporary = scratch(t.count)!
    defer { temporary.deallocate() }
    compute(temporary)
    addInPlace(buffer, temporary, count: t.count)
}

private func addInPlace(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, count: Int) {
    vectorMap(dst, src, dst, count) { $0 + $1 }
}
