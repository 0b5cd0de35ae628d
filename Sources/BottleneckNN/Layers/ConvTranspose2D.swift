import BottleneckCore
/// Transposed 2-D convolution (the adjoint of Conv2D, for up-sampling decoders), weight
/// [Cin, Cout, kh, kw] as PyTorch's nn.ConvTranspose2d.
public final class ConvTranspose2D: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let inChannels: Int, outChannels: Int
    public let kernelSize: Size2D, stride: Size2D, padding: Size2D, outputPadding: Size2D, dilation: Size2D
    /// The oneDNN convolution whose adjoint this layer runs (or im2col: nil) for each call geometry seen.
    let dnnlConvolutions = DNNLConvolutionCache()

    /// PyTorch's default initialisation: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for weight and bias, where
    /// PyTorch takes fanIn from the weight's second axis: outChannels * kh * kw.
    public init(_ inChannels: Int, _ outChannels: Int, _ kernelSize: Size2D, stride: Size2D = 1, padding: Size2D = 0,
                outputPadding: Size2D = 0, dilation: Size2D = 1, bias: Bool = true, rng: RandomGenerator) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize.h > 0 && kernelSize.w > 0,
                     "ConvTranspose2D: channels and kernel size must be positive")
        precondition(stride.h > 0 && stride.w > 0 && dilation.h > 0 && dilation.w > 0, "ConvTranspose2D: stride and dilation must be positive")
        precondition(padding.h >= 0 && padding.w >= 0, "ConvTranspose2D: padding must not be negative")
        precondition(outputPadding.h >= 0 && outputPadding.w >= 0 && outputPadding.h < max(stride.h, dilation.h)
                     && outputPadding.w < max(stride.w, dilation.w),
                     "ConvTranspose2D: output padding \(outputPadding) must be smaller than the stride or the dilation")
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernelSize = kernelSize
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        self.dilation = dilation
        let fanIn = outChannels * kernelSize.h * kernelSize.w
        weight = kaimingUniform([inChannels, outChannels, kernelSize.h, kernelSize.w], fanIn: fanIn, rng: rng)
        self.bias = bias ? kaimingUniform([outChannels], fanIn: fanIn, rng: rng) : nil
    }

    public override var localParameters: [(String, Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        if let y = inChunks(x, ConvolutionMeasurement(x, weight, bias), callAsFunction) { return y }
        if let conv = dnnlConvolution(for: x) { return x.convTranspose2d(weight: weight, bias: bias, using: conv) }
        return x.convTranspose2d(weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding,
                                 dilation: dilation)
    }

    /// The oneDNN convolution whose adjoint computes this layer on `x`, where that is the faster
    /// path on this machine for this geometry (`ConvolutionChoice`); nil runs the im2col path.
    private func dnnlConvolution(for x: Tensor) -> DNNLConvolution? {
        guard x.rank == 4, x.shape[1] == inChannels, ConvolutionChoice.forced != .im2col else { return nil }
        let mode = ConvolutionMeasurement(x, weight, bias)
        let geometry = "conv_transpose2d x=\(x.shape) w=\(weight.shape) stride=\(stride) pad=\(padding) "
            + "output_pad=\(outputPadding) dilation=\(dilation) \(mode)"
        return dnnlConvolutions.convolution(for: geometry) {
            guard let conv = DNNLConvolution(transposedInput: x.shape, outChannels: outChannels, kernel: kernelSize, stride: stride,
                                             padding: padding, outputPadding: outputPadding, dilation: dilation) else { return nil }
            let path = ConvolutionChoice.path(for: geometry,
                im2col: { mode.run { $0.convTranspose2d(weight: $1, bias: $2, stride: stride, padding: padding,
                                                        outputPadding: outputPadding, dilation: dilation) } },
                oneDNN: { mode.run { $0.convTranspose2d(weight: $1, bias: $2, using: conv) } })
            return path == .oneDNN ? conv : nil
        }
    }

    /// The name in errors: "ConvTranspose2D(32 -> 16, 3x3, stride 2)".
    var label: String { "ConvTranspose2D(\(inChannels) -> \(outChannels), \(kernelSize.area)\(stride == 1 ? "" : ", stride \(stride)"))" }

    public override func outputShape(for input: [Int]) throws -> [Int] {
        guard input.count == 3, input[0] == inChannels else {
            throw BottleneckError.shape(layer: label, expected: "[\(inChannels), H, W]", got: input)
        }
        let output = [outChannels,
                      convTransposeOutputLength(input[1], kernelSize.h, stride.h, padding.h, outputPadding.h, dilation.h),
                      convTransposeOutputLength(input[2], kernelSize.w, stride.w, padding.w, outputPadding.w, dilation.w)]
        guard input[1] > 0 && input[2] > 0 && output[1] > 0 && output[2] > 0 else {
            throw BottleneckError("\(label): input \(formatShape(input)) gives an empty output \(formatShape(output))")
        }
        return output
    }

    public override var details: String {
        var parts = ["\(inChannels) -> \(outChannels)", "kernel \(kernelSize.area)"]
        if stride != 1 { parts.append("stride \(stride)") }
        if padding != 0 { parts.append("padding \(padding)") }
        if outputPadding != 0 { parts.append("output padding \(outputPadding)") }
        if dilation != 1 { parts.append("dilation \(dilation)") }
        if bias == nil { parts.append("no bias") }
        return parts.joined(separator: ", ")
    }
}
