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

    /// Whether oneDNN should run a convolution: stride 1 and at least 16 channels on both sides.
    /// Measured (bench/onednn, batch 128, 3x3, 2 threads, ms forward / backward-data / backward-weights,
    /// reorders from and to NCHW included): 64->64 at 14x14 im2col 34/33/36 vs oneDNN 19/16/25, at
    /// 7x7 11/10/11 vs 5/4/6; but 1->64 at 28x28 im2col 3.7/5.4/11.3 vs 3.0/14.9/20.7 and 64->1
    /// (our flipped-kernel path) about 5/5/6 vs 15/9/19: with few channels im2col + OpenBLAS wins.
    package static func suits(inChannels: Int, outChannels: Int, stride: Size2D) -> Bool {
        stride == 1 && inChannels >= 16 && outChannels >= 16
    }

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
