/// Shape ops: reshape (a view), permute, concat, narrow, batch indexing.
extension Tensor {
    /// Same data, new shape; one dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshape: \(shape) cannot become \(newShape)")
            s[i] = count / known
        }
        precondition(s.reduce(1, *) == count, "reshape: \(shape) (\(count) elements) cannot become \(newShape)")
        return view(shape: s)
    }

    /// [N, ...] -> [N, product of the rest].
    public func flattened() -> Tensor { reshaped([shape.first ?? 1, -1]) }

    /// Rows `start..<start+length` of the first axis, without copying.
    public func rows(_ start: Int, _ length: Int) -> Tensor {
        precondition(rank >= 1 && start >= 0 && start + length <= shape[0], "rows \(start)..<\(start + length) outside \(shape)")
        let rowSize = shape[0] == 0 ? 0 : count / shape[0]
        return view(shape: [length] + shape.dropFirst(), offset: start * rowSize)
    }

    /// The rows at `indices` of the first axis, copied into a new tensor (a batch).
    public func gather(rows indices: [Int]) -> Tensor {
        let x = self, rowSize = shape[0] == 0 ? 0 : count / shape[0]
        let out = Tensor.result(shape: [indices.count] + shape.dropFirst(), parents: [x]) { out in
            let g = out.grad!, dx = x.gradBuffer()
            for (r, i) in indices.enumerated() { let d = dx + i * rowSize, s = g + r * rowSize; for j in 0..<rowSize { d[j] += s[j] } }
        }
        for (r, i) in indices.enumerated() {
            precondition(i >= 0 && i < shape[0], "gather: row \(i) outside \(shape[0])")
            (out.data + r * rowSize).update(from: data + i * rowSize, count: rowSize)
        }
        return out
    }

    /// Reorders axes: result axis k is this tensor's axis `order[k]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "permute: \(order) is not a permutation of \(rank) axes")
        let x = self
        let newShape = order.map { shape[$0] }
        let srcStrides = broadcastStrides(shape, to: shape)
        let readStrides = order.map { srcStrides[$0] }  // strides of x, seen in the result's axis order
        let outStrides = broadcastStrides(newShape, to: newShape)
        let out = Tensor.result(shape: newShape, parents: [x]) { out in
            let g = out.grad!, dx = x.gradBuffer()
            forEachRow(newShape, [outStrides, readStrides]) { off, len, inner in
                let s = g + off[0], d = dx + off[1], st = inner[1]
                for j in 0..<len { d[j * st] += s[j] }
            }
        }
        let o = out.data, src = data
        forEachRow(newShape, [outStrides, readStrides]) { off, len, inner in
            let d = o + off[0], s = src + off[1], st = inner[1]
            for j in 0..<len { d[j] = s[j * st] }
        }
        return out
    }

    /// The 2-D transpose.
    public func transposed() -> Tensor {
        precondition(rank == 2, "transposed() needs a matrix, shape is \(shape)")
        return permuted([1, 0])
    }

    /// `length` entries of `axis` starting at `start`, copied.
    public func narrow(axis: Int, start: Int, length: Int) -> Tensor {
        let x = self, ax = normalizedAxis(axis)
        let (outer, full, inner) = axisSplit(ax)
        precondition(start >= 0 && start + length <= full, "narrow: \(start)..<\(start + length) outside axis \(ax) of \(shape)")
        var newShape = shape
        newShape[ax] = length
        let out = Tensor.result(shape: newShape, parents: [x]) { out in
            let g = out.grad!, dx = x.gradBuffer()
            for o in 0..<outer {
                let d = dx + (o * full + start) * inner, s = g + o * length * inner
                for j in 0..<(length * inner) { d[j] += s[j] }
            }
        }
        for o in 0..<outer {
            (out.data + o * length * inner).update(from: data + (o * full + start) * inner, count: length * inner)
        }
        return out
    }

    /// Joins tensors along `axis`; all other dimensions must agree.
    public static func concat(_ parts: [Tensor], axis: Int) -> Tensor {
        precondition(!parts.isEmpty, "concat of nothing")
        let ax = parts[0].normalizedAxis(axis)
        var newShape = parts[0].shape
        newShape[ax] = parts.reduce(0) { $0 + $1.shape[ax] }
        for p in parts {
            var s = p.shape
            s[ax] = newShape[ax]
            precondition(s == newShape, "concat: \(p.shape) does not fit \(parts[0].shape) along axis \(ax)")
        }
        let outer = newShape[..<ax].reduce(1, *), inner = newShape[(ax + 1)...].reduce(1, *)
        let total = newShape[ax]
        let out = Tensor.result(shape: newShape, parents: parts) { out in
            let g = out.grad!
            var offset = 0
            for p in parts {
                let len = p.shape[ax] * inner
                if p.requiresGrad {
                    let dp = p.gradBuffer()
                    for o in 0..<outer { let s = g + o * total * inner + offset, d = dp + o * len; for j in 0..<len { d[j] += s[j] } }
                }
                offset += len
            }
        }
        var offset = 0
        for p in parts {
            let len = p.shape[ax] * inner
            for o in 0..<outer { (out.data + o * total * inner + offset).update(from: p.data + o * len, count: len) }
            offset += len
        }
        return out
    }

    /// Stacks equal-shaped tensors along a new axis.
    public static func stack(_ parts: [Tensor], axis: Int = 0) -> Tensor {
        let expanded = parts.map { p -> Tensor in
            var s = p.shape
            s.insert(1, at: axis < 0 ? axis + p.rank + 1 : axis)
            return p.reshaped(s)
        }
        return concat(expanded, axis: axis)
    }
}
