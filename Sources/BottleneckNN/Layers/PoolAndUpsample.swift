import BottleneckCore
/// Pooling and up-sampling layers: stateless wrappers of the ops, with shape checks for summaries.

/// Max pooling; the stride defaults to the kernel size, as in PyTorch.
public final class MaxPool2D: Module {
    public let kernel: Size2D, stride: Size2D, padding: Size2D

    public init(_ kernel: Size2D, stride: Size2D? = nil, padding: Size2D = 0) {
        precondition(padding.h * 2 <= kernel.h && padding.w * 2 <= kernel.w && padding.h >= 0 && padding.w >= 0,
                     "MaxPool2D: padding \(padding) must be at most half the kernel \(kernel.area)")
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor { x.maxPool2d(kernel: kernel, stride: stride, padding: padding) }

    public override func outputShape(for input: [Int]) throws -> [Int] {
        try poolOutputShape(input, layer: "MaxPool2D(\(kernel.area))", kernel: kernel, stride: stride, padding: padding)
    }

    public override var details: String { poolDetails(kernel: kernel, stride: stride, padding: padding) }
}

/// Average pooling; padded zeros count in the divisor (PyTorch's count_include_pad=True) unless
/// `countIncludePad` is false.
public final class AvgPool2D: Module {
    public let kernel: Size2D, stride: Size2D, padding: Size2D
    public let countIncludePad: Bool

    public init(_ kernel: Size2D, stride: Size2D? = nil, padding: Size2D = 0, countIncludePad: Bool = true) {
        precondition(padding.h * 2 <= kernel.h && padding.w * 2 <= kernel.w && padding.h >= 0 && padding.w >= 0,
                     "AvgPool2D: padding \(padding) must be at most half the kernel \(kernel.area)")
        self.kernel = kernel
        self.stride = stride ?? kernel
        self.padding = padding
        self.countIncludePad = countIncludePad
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        x.avgPool2d(kernel: kernel, stride: stride, padding: padding, countIncludePad: countIncludePad)
    }

    public override func outputShape(for input: [Int]) throws -> [Int] {
        try poolOutputShape(input, layer: "AvgPool2D(\(kernel.area))", kernel: kernel, stride: stride, padding: padding)
    }

    public override var details: String {
        poolDetails(kernel: kernel, stride: stride, padding: padding) + (countIncludePad ? "" : ", padding not counted")
    }
}

/// Up-sampling by whole factors: nearest neighbour, or bilinear (align_corners False by default,
/// as PyTorch's nn.Upsample).
public final class Upsample2D: Module {
    public enum Mode: String, Sendable { case nearest, bilinear }
    public let scale: Size2D, mode: Mode, alignCorners: Bool

    public init(scale: Size2D, mode: Mode = .nearest, alignCorners: Bool = false) {
        precondition(scale.h > 0 && scale.w > 0, "Upsample2D: scale \(scale) must be positive")
        precondition(!alignCorners || mode == .bilinear, "Upsample2D: alignCorners applies to bilinear mode only")
        self.scale = scale
        self.mode = mode
        self.alignCorners = alignCorners
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        switch mode {
        case .nearest: return x.upsampleNearest2d(scale: scale)
        case .bilinear: return x.upsampleBilinear2d(scale: scale, alignCorners: alignCorners)
        }
    }

    public override func outputShape(for input: [Int]) throws -> [Int] {
        guard input.count == 3 else { throw BottleneckError.shape(layer: "Upsample2D(x\(scale))", expected: "[C, H, W]", got: input) }
        return [input[0], input[1] * scale.h, input[2] * scale.w]
    }

    public override var details: String { "scale \(scale), \(mode.rawValue)\(alignCorners ? ", corners aligned" : "")" }
}

private func poolOutputShape(_ input: [Int], layer: String, kernel: Size2D, stride: Size2D, padding: Size2D) throws -> [Int] {
    guard input.count == 3 else { throw BottleneckError.shape(layer: layer, expected: "[C, H, W]", got: input) }
    let output = [input[0], convOutputLength(input[1], kernel.h, stride.h, 2 * padding.h, 1),
                  convOutputLength(input[2], kernel.w, stride.w, 2 * padding.w, 1)]
    guard output[1] > 0 && output[2] > 0 else {
        throw BottleneckError("\(layer): input \(formatShape(input)) is smaller than the kernel, the output \(formatShape(output)) would be empty")
    }
    return output
}

private func poolDetails(kernel: Size2D, stride: Size2D, padding: Size2D) -> String {
    var parts = ["kernel \(kernel.area)"]
    if stride != kernel { parts.append("stride \(stride)") }
    if padding != 0 { parts.append("padding \(padding)") }
    return parts.joined(separator: ", ")
}
