import BottleneckCore
/// Activation layers: stateless wrappers of the elementwise ops, so they sit in a Sequential.
public final class ReLU: Module {
    public override func callAsFunction(_ x: Tensor) -> Tensor { x.relu() }
}

public final class LeakyReLU: Module {
    public let slope: Float
    public init(_ slope: Float = 0.01) { self.slope = slope }
    public override func callAsFunction(_ x: Tensor) -> Tensor { x.leakyRelu(slope) }
    public override var details: String { "slope \(slope)" }
}

public final class Sigmoid: Module {
    public override func callAsFunction(_ x: Tensor) -> Tensor { x.sigmoid() }
}

public final class Tanh: Module {
    public override func callAsFunction(_ x: Tensor) -> Tensor { x.tanh() }
}

public final class Softplus: Module {
    public override func callAsFunction(_ x: Tensor) -> Tensor { x.softplus() }
}

public final class GELU: Module {
    public override func callAsFunction(_ x: Tensor) -> Tensor { x.gelu() }
}

public final class Identity: Module {
    public override func callAsFunction(_ x: Tensor) -> Tensor { x }
}
