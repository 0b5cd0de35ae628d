/// Reductions: sum, mean, max, argmax, over all elements or along one axis.
extension Tensor {
    /// Splits the shape around `axis` into (outer, length, inner) for strided loops.
    func axisSplit(_ axis: Int) -> (outer: Int, length: Int, inner: Int) {
        precondition(axis >= 0 && axis < rank, "axis \(axis) out of range for shape \(shape)")
        return (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    func normalizedAxis(_ axis: Int) -> Int { axis < 0 ? axis + rank : axis }

    /// Sum of all elements, as a scalar tensor (shape []).
    public func sum() -> Tensor {
        let x = self
        let out = Tensor.result(shape: [], parents: [x]) { out in
            let g = out.grad![0], dx = x.gradBuffer()
            for i in 0..<x.count { dx[i] += g }
        }
        var acc: Double = 0  // Double: long sums of Float lose digits
        for i in 0..<count { acc += Double(data[i]) }
        out.data[0] = Float(acc)
        return out
    }

    public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

    /// Sum along `axis`; the axis is kept with length 1 if `keepDims`.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor {
        let x = self, ax = normalizedAxis(axis)
        let (outer, length, inner) = axisSplit(ax)
        var newShape = shape
        if keepDims { newShape[ax] = 1 } else { newShape.remove(at: ax) }
        let out = Tensor.result(shape: newShape, parents: [x], zeroed: true) { out in
            let g = out.grad!, dx = x.gradBuffer()
            for o in 0..<outer { for l in 0..<length {
                let d = dx + (o * length + l) * inner, s = g + o * inner
                for i in 0..<inner { d[i] += s[i] }
            } }
        }
        let o = out.data
        for oi in 0..<outer { for l in 0..<length {
            let s = data + (oi * length + l) * inner, d = o + oi * inner
            for i in 0..<inner { d[i] += s[i] }
        } }
        return out
    }

    public func mean(axis: Int, keepDims: Bool = false) -> Tensor {
        sum(axis: axis, keepDims: keepDims) * (1 / Float(shape[normalizedAxis(axis)]))
    }

    /// Maximum along `axis`; the gradient goes to the (first) largest element.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let x = self, ax = normalizedAxis(axis)
        let (outer, length, inner) = axisSplit(ax)
        var newShape = shape
        if keepDims { newShape[ax] = 1 } else { newShape.remove(at: ax) }
        let idx = argmaxIndices(ax)
        let out = Tensor.result(shape: newShape, parents: [x]) { out in
            let g = out.grad!, dx = x.gradBuffer()
            for o in 0..<outer { for i in 0..<inner {
                dx[(o * length + idx[o * inner + i]) * inner + i] += g[o * inner + i]
            } }
        }
        for o in 0..<outer { for i in 0..<inner {
            out.data[o * inner + i] = data[(o * length + idx[o * inner + i]) * inner + i]
        } }
        return out
    }

    /// Index of the largest element along `axis`, for each position of the other axes.
    public func argmax(axis: Int) -> [Int] { argmaxIndices(normalizedAxis(axis)) }

    private func argmaxIndices(_ ax: Int) -> [Int] {
        let (outer, length, inner) = axisSplit(ax)
        var result = [Int](repeating: 0, count: outer * inner)
        for o in 0..<outer { for i in 0..<inner {
            var best = 0, bestValue = data[o * length * inner + i]
            for l in 1..<Swift.max(length, 1) {
                let v = data[(o * length + l) * inner + i]
                if v > bestValue { bestValue = v; best = l }
            }
            result[o * inner + i] = best
        } }
        return result
    }

    /// The largest element (no gradient).
    public var maxValue: Float { buffer.max() ?? .nan }
    public var minValue: Float { buffer.min() ?? .nan }
}
