import BottleneckCore
/// The base of every layer and model: named parameters (PyTorch's state_dict names, so
/// safetensors files map 1:1), named buffers, child modules, and an explicit train/eval mode.
///
/// A subclass lists its own tensors in `localParameters`/`localBuffers` and its sub-modules in
/// `children`; names nest as `encoder.0.weight`.
open class Module {
    public private(set) var isTraining = true

    public init() {}

    /// This module's own trainable tensors, by name.
    open var localParameters: [(String, Tensor)] { [] }
    /// Saved but not trained: BatchNorm's running statistics.
    open var localBuffers: [(String, Tensor)] { [] }
    /// Sub-modules, by name.
    open var children: [(String, Module)] { [] }

    /// The forward pass for modules with one input and one output.
    open func callAsFunction(_ x: Tensor) -> Tensor {
        preconditionFailure("\(typeName) has no single-tensor forward pass")
    }

    /// The per-sample output shape for a per-sample input shape (batch axis left out); throws a
    /// `BottleneckError` naming the layer when the input does not fit. Shape-preserving by default.
    open func outputShape(for input: [Int]) throws -> [Int] { input }

    /// The name shown in summaries and errors.
    open var typeName: String { String(describing: type(of: self)) }

    /// Arguments shown in summaries, e.g. "784 -> 32".
    open var details: String { "" }

    /// Sets training mode here and in every descendant (Dropout, BatchNorm behave differently).
    public func train(_ on: Bool = true) {
        isTraining = on
        for (_, c) in children { c.train(on) }
    }

    public func eval() { train(false) }

    public func namedParameters(prefix: String = "") -> [(String, Tensor)] {
        localParameters.map { (prefix + $0.0, $0.1) }
            + children.flatMap { $0.1.namedParameters(prefix: prefix + $0.0 + ".") }
    }

    public func namedBuffers(prefix: String = "") -> [(String, Tensor)] {
        localBuffers.map { (prefix + $0.0, $0.1) }
            + children.flatMap { $0.1.namedBuffers(prefix: prefix + $0.0 + ".") }
    }

    /// Parameters and buffers: everything a model file holds.
    public func stateDict() -> [(String, Tensor)] { namedParameters() + namedBuffers() }

    public var parameters: [Tensor] { namedParameters().map(\.1) }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Every module in the tree with its dotted path, depth-first (for summaries).
    public func namedModules(prefix: String = "") -> [(String, Module)] {
        [(prefix, self)] + children.flatMap { $0.1.namedModules(prefix: prefix.isEmpty ? $0.0 : prefix + "." + $0.0) }
    }
}

/// Creates a trainable leaf tensor.
func parameter(_ t: Tensor) -> Tensor {
    t.requiresGrad = true
    return t
}

/// PyTorch's default initialisation for Linear and Conv weights and biases: Kaiming-uniform with
/// a = sqrt(5), which reduces to U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias uses the same bound.
func kaimingUniform(_ shape: [Int], fanIn: Int, rng: RandomGenerator) -> Tensor {
    let bound = 1 / Float(fanIn).squareRoot()
    return parameter(.uniform(shape, low: -bound, high: bound, rng: rng))
}
