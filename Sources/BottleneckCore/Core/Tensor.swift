/// A dense, row-major Float32 tensor (NCHW for images) that records the operations made from it,
/// so `backward()` can fill the gradients of the leaves that require them.
///
/// Tensors are values in spirit: ops never modify their inputs. Only optimizers (on parameters) and
/// normalisation layers (on running statistics) write into existing data.
public final class Tensor {
    public let shape: [Int]
    public let count: Int
    let storage: Storage
    /// The first element; may lie inside a larger storage (a view).
    public let data: UnsafeMutablePointer<Float>
    /// Gradient of the last `backward()` with respect to this tensor, allocated on first use.
    public private(set) var grad: UnsafeMutablePointer<Float>?
    /// The memory behind `grad`, kept by `zeroGrad()` so that the next step reuses it.
    private var gradMemory: UnsafeMutablePointer<Float>?
    /// Leaves with `requiresGrad` keep their gradient; op results pass it on and free it.
    public var requiresGrad: Bool
    let parents: [Tensor]
    let backwardFn: ((Tensor) -> Void)?

    /// A tensor of uninitialised memory (callers fill it), or of zeros.
    public init(shape: [Int], zeroed: Bool = true) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        self.shape = shape
        count = shape.reduce(1, *)
        storage = Storage(capacity: count, zeroed: zeroed)
        data = storage.base
        requiresGrad = false
        parents = []
        backwardFn = nil
    }

    init(shape: [Int], storage: Storage, offset: Int, parents: [Tensor], backward: ((Tensor) -> Void)?) {
        self.shape = shape
        count = shape.reduce(1, *)
        self.storage = storage
        data = storage.base + offset
        self.parents = parents
        backwardFn = backward
        requiresGrad = backward != nil
    }

    deinit { gradMemory?.deallocate() }

    public convenience init(shape: [Int], values: [Float]) {
        precondition(values.count == shape.reduce(1, *), "\(values.count) values do not fill shape \(shape)")
        self.init(shape: shape, zeroed: false)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    public convenience init(_ values: [Float]) { self.init(shape: [values.count], values: values) }

    public convenience init(scalar: Float) { self.init(shape: [], values: [scalar]) }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape) }

    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let t = Tensor(shape: shape, zeroed: false)
        t.data.update(repeating: value, count: t.count)
        return t
    }

    public var rank: Int { shape.count }
    public var buffer: UnsafeMutableBufferPointer<Float> { .init(start: data, count: count) }
    public var scalars: [Float] { Array(buffer) }
    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs one element, shape is \(shape)")
        return data[0]
    }
    public var isLeaf: Bool { backwardFn == nil }

    /// The gradient as a new tensor (zeros if none was computed).
    public var gradient: Tensor {
        let g = Tensor(shape: shape)
        if let grad { g.data.update(from: grad, count: count) }
        return g
    }

    /// The gradient buffer, zeroed on first use; backward rules accumulate into it.
    package func gradBuffer() -> UnsafeMutablePointer<Float> {
        if let grad { return grad }
        let g = claimGradMemory()
        g.update(repeating: 0, count: Swift.max(count, 1))
        return g
    }

    /// Where a backward rule puts this tensor's gradient: with `accumulate` it adds to the gradient
    /// already there; without, the buffer holds garbage and the rule must write all `count` values
    /// (saves zeroing a buffer only to add to it).
    package func gradDestination() -> (buffer: UnsafeMutablePointer<Float>, accumulate: Bool) {
        if let grad { return (grad, true) }
        return (claimGradMemory(), false)
    }

    private func claimGradMemory() -> UnsafeMutablePointer<Float> {
        let g = gradMemory ?? .allocate(capacity: Swift.max(count, 1))
        gradMemory = g
        grad = g
        return g
    }

    /// Hands this tensor's gradient buffer to `other` (same count, no gradient yet): an identity
    /// backward step without copying. Returns false when that is not possible.
    func moveGrad(to other: Tensor) -> Bool {
        guard let g = grad, other.grad == nil, other.count == count else { return false }
        other.gradMemory?.deallocate()
        other.gradMemory = g
        other.grad = g
        gradMemory = nil
        grad = nil
        return true
    }

    /// Forgets the gradient. The memory stays for the next backward pass (parameters get a
    /// gradient every step), so nothing is allocated or faulted in again.
    public func zeroGrad() { grad = nil }

    /// Forgets the gradient and frees its memory (intermediate results, once used).
    func releaseGrad() {
        gradMemory?.deallocate()
        gradMemory = nil
        grad = nil
    }

    /// A copy that shares no graph: gradients do not flow through it.
    public func detached() -> Tensor {
        Tensor(shape: shape, storage: storage, offset: data - storage.base, parents: [], backward: nil)
    }

    /// A deep copy of the values, with no graph.
    public func copy() -> Tensor {
        let t = Tensor(shape: shape, zeroed: false)
        t.data.update(from: data, count: count)
        return t
    }

    /// Overwrites this tensor's values (e.g. loading weights); shapes must hold the same count.
    public func assign(_ other: Tensor) {
        precondition(other.count == count, "assign: \(other.shape) into \(shape)")
        data.update(from: other.data, count: count)
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(shown)\(count > 8 ? ", ..." : "")])"
    }
}
