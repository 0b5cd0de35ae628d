import BottleneckCore
/// Fully connected layer, y = x W^T + b, weight [out, in] as PyTorch stores it.
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let inFeatures: Int, outFeatures: Int

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, rng: RandomGenerator) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = kaimingUniform([outFeatures, inFeatures], fanIn: inFeatures, rng: rng)
        self.bias = bias ? kaimingUniform([outFeatures], fanIn: inFeatures, rng: rng) : nil
    }

    public override var localParameters: [(String, Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// Acts on the last axis, as nn.Linear: [N, ..., in] -> [N, ..., out] (per time step for sequences).
    public override func callAsFunction(_ x: Tensor) -> Tensor {
        if x.rank == 2 { return x.linear(weight: weight, bias: bias) }
        return x.reshaped([-1, inFeatures]).linear(weight: weight, bias: bias).reshaped(Array(x.shape.dropLast()) + [outFeatures])
    }

    public override func outputShape(for input: [Int]) throws -> [Int] {
        guard input.last == inFeatures else {
            throw BottleneckError.shape(layer: "Linear(\(inFeatures) -> \(outFeatures))", expected: "[..., \(inFeatures)]", got: input)
        }
        return Array(input.dropLast()) + [outFeatures]
    }

    public override var details: String { "\(inFeatures) -> \(outFeatures)" }
}
