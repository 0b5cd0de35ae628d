import Foundation
import BottleneckCore

/// 2-D convolution over [N, Cin, H, W] batches, weight [Cout, Cin, kh, kw] as PyTorch's nn.Conv2d.
public final class Conv2D: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let inChannels: Int, outChannels: Int
    public let kernelSize: Size2D, stride: Size2D, padding: ConvPadding, dilation: Size2D
    /// The oneDNN convolution (or im2col: nil) chosen for each call geometry seen.
    let dnnlConvolutions = DNNLConvolutionCache()

    /// PyTorch's default initialisation: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for weight and bias,
    /// fanIn = inChannels * kh * kw.
    public init(_ inChannels: Int, _ outChannels: Int, _ kernelSize: Size2D, stride: Size2D = 1, padding: ConvPadding = 0,
                dilation: Size2D = 1, bias: Bool = true, rng: RandomGenerator) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize.h > 0 && kernelSize.w > 0,
                     "Conv2D: channels and kernel size must be positive")
        precondition(stride.h > 0 && stride.w > 0 && dilation.h > 0 && dilation.w > 0, "Conv2D: stride and dilation must be positive")
        precondition(padding != .same || stride == 1, "Conv2D: padding 'same' needs stride 1")
        if case .explicit(let p) = padding { precondition(p.h >= 0 && p.w >= 0, "Conv2D: padding must not be negative") }
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        let fanIn = inChannels * kernelSize.h * kernelSize.w
        weight = kaimingUniform([outChannels, inChannels, kernelSize.h, kernelSize.w], fanIn: fanIn, rng: rng)
        self.bias = bias ? kaimingUniform([outChannels], fanIn: fanIn, rng: rng) : nil
    }

    public override var localParameters: [(String, Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        if let y = inChunks(x, ConvolutionMeasurement(x, weight, bias), callAsFunction) { return y }
        if let conv = dnnlConvolution(for: x) { return x.conv2d(weight: weight, bias: bias, using: conv) }
        return x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation)
    }

    /// The oneDNN convolution for `x`, where it is the faster path on this machine for this
    /// geometry (`ConvolutionChoice`) and oneDNN can build one; nil runs the im2col path.
    private func dnnlConvolution(for x: Tensor) -> DNNLConvolution? {
        guard x.rank == 4, x.shape[1] == inChannels, ConvolutionChoice.forced != .im2col else { return nil }
        let pad = padding.resolved(kernel: kernelSize, dilation: dilation)
        let mode = ConvolutionMeasurement(x, weight, bias)
        let geometry = "conv2d x=\(x.shape) w=\(weight.shape) stride=\(stride) pad=\(pad.before)/\(pad.after) dilation=\(dilation) \(mode)"
        return dnnlConvolutions.convolution(for: geometry) {
            guard let conv = DNNLConvolution(input: x.shape, outChannels: outChannels, kernel: kernelSize, stride: stride,
                                             padBefore: pad.before, padAfter: pad.after, dilation: dilation, bias: bias != nil)
            else { return nil }
            let path = ConvolutionChoice.path(for: geometry,
                im2col: { mode.run { $0.conv2d(weight: $1, bias: $2, stride: stride, padding: padding, dilation: dilation) } },
                oneDNN: { mode.run { $0.conv2d(weight: $1, bias: $2, using: conv) } })
            return path == .oneDNN ? conv : nil
        }
    }

    /// The name in errors: "Conv2D(1 -> 16, 3x3, stride 2)".
    var label: String { "Conv2D(\(inChannels) -> \(outChannels), \(kernelSize.area)\(stride == 1 ? "" : ", stride \(stride)"))" }

    public override func outputShape(for input: [Int]) throws -> [Int] {
        guard input.count == 3, input[0] == inChannels else {
            throw BottleneckError.shape(layer: label, expected: "[\(inChannels), H, W]", got: input)
        }
        let pad = padding.resolved(kernel: kernelSize, dilation: dilation)
        let output = [outChannels,
                      convOutputLength(input[1], kernelSize.h, stride.h, pad.before.h + pad.after.h, dilation.h),
                      convOutputLength(input[2], kernelSize.w, stride.w, pad.before.w + pad.after.w, dilation.w)]
        guard output[1] > 0 && output[2] > 0 else {
            throw BottleneckError("\(label): input \(formatShape(input)) is smaller than the kernel, the output \(formatShape(output)) would be empty")
        }
        return output
    }

    public override var details: String {
        var parts = ["\(inChannels) -> \(outChannels)", "kernel \(kernelSize.area)"]
        if stride != 1 { parts.append("stride \(stride)") }
        if padding != 0 { parts.append("padding \(padding)") }
        if dilation != 1 { parts.append("dilation \(dilation)") }
        if bias == nil { parts.append("no bias") }
        return parts.joined(separator: ", ")
    }
}
