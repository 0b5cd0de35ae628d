/// Reverse-mode automatic differentiation.
///
/// Every op builds its result with `Tensor.result(shape:parents:backward:)`, passing a closure that
/// reads the result's gradient and accumulates into its parents' gradients: the backward rule of
/// each op lives right beside its forward code. Graph recording is skipped when no parent needs a
/// gradient, or inside `withoutGradients`.
public enum GradientMode {
    // A task-local (not a global): concurrent inference requests each see their own mode.
    @TaskLocal static var isRecording = true

    /// Runs `body` without recording a graph: inference, evaluation, metrics.
    public static func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
        try $isRecording.withValue(false) { try body() }
    }

    public static var isEnabled: Bool { isRecording }
}

/// Shorthand for `GradientMode.withoutGradients`.
public func withoutGradients<T>(_ body: () throws -> T) rethrows -> T {
    try GradientMode.withoutGradients(body)
}

extension Tensor {
    /// Creates an op's result. `backward` is kept only when a parent requires a gradient.
    package static func result(shape: [Int], parents: [Tensor], zeroed: Bool = false,
                       backward: @escaping (Tensor) -> Void) -> Tensor {
        let storage = Storage(capacity: shape.reduce(1, *), zeroed: zeroed)
        if GradientMode.isRecording && parents.contains(where: { $0.requiresGrad }) {
            return Tensor(shape: shape, storage: storage, offset: 0, parents: parents, backward: backward)
        }
        return Tensor(shape: shape, storage: storage, offset: 0, parents: [], backward: nil)
    }

    /// A view on the same storage (reshape, batch slice): no copy; the gradient passes straight on.
    func view(shape newShape: [Int], offset: Int = 0) -> Tensor {
        let start = data - storage.base + offset
        if GradientMode.isRecording && requiresGrad {
            return Tensor(shape: newShape, storage: storage, offset: start, parents: [self]) { out in
                // A whole-tensor view (reshape) passes its gradient buffer on as it is.
                if offset == 0 && out.moveGrad(to: self) { return }
                let src = self.gradBuffer() + offset
                let g = out.grad!
                for i in 0..<out.count { src[i] += g[i] }
            }
        }
        return Tensor(shape: newShape, storage: storage, offset: start, parents: [], backward: nil)
    }

    /// Back-propagates from this tensor. A scalar starts from gradient 1; otherwise pass `seed`,
    /// the gradient of some scalar with respect to this tensor.
    public func backward(seed: Tensor? = nil) {
        precondition(seed != nil || count == 1, "backward() without a seed needs a scalar, shape is \(shape)")
        precondition(requiresGrad, "backward(): this tensor does not depend on any parameter")
        let order = topologicalOrder()
        let g = gradBuffer()
        if let seed { g.update(from: seed.data, count: count) } else { g[0] = 1 }
        for node in order.reversed() {
            guard let fn = node.backwardFn else { continue }
            if node.grad == nil { continue }  // nothing flowed here
            fn(node)
            node.releaseGrad()  // intermediate gradients are not kept
        }
    }

    /// Nodes reachable from self, parents before children (iterative: long LSTM chains are deep).
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let (node, next) = stack.popLast() {
            if next < node.parents.count {
                stack.append((node, next + 1))
                let p = node.parents[next]
                if p.requiresGrad && visited.insert(ObjectIdentifier(p)).inserted { stack.append((p, 0)) }
            } else {
                order.append(node)
            }
        }
        return order
    }
}
