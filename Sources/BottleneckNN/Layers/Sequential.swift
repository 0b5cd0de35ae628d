import BottleneckCore
/// Layers applied in order; children are named "0", "1", ... as in PyTorch's nn.Sequential.
public final class Sequential: Module {
    public private(set) var layers: [Module]

    public init(_ layers: [Module]) { self.layers = layers }
    public convenience init(_ layers: Module...) { self.init(layers) }

    public override var children: [(String, Module)] { layers.enumerated().map { (String($0.offset), $0.element) } }

    public override func callAsFunction(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }

    public override func outputShape(for input: [Int]) throws -> [Int] {
        var s = input
        for (i, l) in layers.enumerated() {
            do { s = try l.outputShape(for: s) } catch let e as BottleneckError {
                throw BottleneckError("layer \(i) \(e.message)")
            }
        }
        return s
    }
}

/// [N, d1, d2, ...] -> [N, d1*d2*...].
public final class Flatten: Module {
    public override func callAsFunction(_ x: Tensor) -> Tensor { x.flattened() }
    public override func outputShape(for input: [Int]) throws -> [Int] { [input.reduce(1, *)] }
}

/// [N, k] -> [N] + shape, with k the product of shape.
public final class Unflatten: Module {
    public let shape: [Int]
    public init(_ shape: [Int]) { self.shape = shape }
    public override func callAsFunction(_ x: Tensor) -> Tensor { x.reshaped([x.shape[0]] + shape) }
    public override func outputShape(for input: [Int]) throws -> [Int] {
        guard let need = checkedElementCount(shape), need == checkedElementCount(input) else {
            throw BottleneckError.shape(layer: "Unflatten(\(formatShape(shape)))", expected: "\(checkedElementCount(shape).map(String.init) ?? "too many") values", got: input)
        }
        return shape
    }
    public override var details: String { formatShape(shape) }
}
