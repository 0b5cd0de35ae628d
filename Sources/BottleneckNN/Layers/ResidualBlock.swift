import BottleneckCore
/// A ResNet basic block: conv3x3(stride) + BatchNorm + ReLU + conv3x3 + BatchNorm, added to the
/// input (through a 1x1 conv + BatchNorm when the shape changes), then ReLU. The building block of
/// the strong, pretrained-style encoders.
public final class ResidualBlock: Module {
    public let conv1: Conv2D, bn1: BatchNorm2D, conv2: Conv2D, bn2: BatchNorm2D
    public let shortcut: Sequential?
    public let inChannels: Int, outChannels: Int, stride: Int

    public init(_ inChannels: Int, _ outChannels: Int, stride: Int = 1, rng: RandomGenerator) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.stride = stride
        conv1 = Conv2D(inChannels, outChannels, 3, stride: Size2D(stride), padding: 1, bias: false, rng: rng)
        bn1 = BatchNorm2D(outChannels)
        conv2 = Conv2D(outChannels, outChannels, 3, padding: 1, bias: false, rng: rng)
        bn2 = BatchNorm2D(outChannels)
        shortcut = stride != 1 || inChannels != outChannels
            ? Sequential(Conv2D(inChannels, outChannels, 1, stride: Size2D(stride), bias: false, rng: rng), BatchNorm2D(outChannels)) : nil
    }

    public override var children: [(String, Module)] {
        [("conv1", conv1), ("bn1", bn1), ("conv2", conv2), ("bn2", bn2)] + (shortcut.map { [("shortcut", $0)] } ?? [])
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor {
        let y = bn2(conv2(bn1(conv1(x)).relu()))
        return (y + (shortcut?(x) ?? x)).relu()
    }

    public override func outputShape(for input: [Int]) throws -> [Int] {
        let mid = try conv1.outputShape(for: input)
        return try conv2.outputShape(for: mid)
    }

    public override var details: String { "\(inChannels) -> \(outChannels), stride \(stride)" }
}
