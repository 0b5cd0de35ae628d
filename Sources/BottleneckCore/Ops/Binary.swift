/// Elementwise binary ops with broadcasting: +, -, *, /, and their backward rules.
extension Tensor {
    /// Applies `f` elementwise over the broadcast of `a` and `b` into a new buffer.
    static func broadcastMap(_ a: Tensor, _ b: Tensor, _ out: Tensor, _ f: (Float, Float) -> Float) {
        let o = out.data, pa = a.data, pb = b.data
        if a.shape == b.shape {
            for i in 0..<out.count { o[i] = f(pa[i], pb[i]) }
        } else if b.count == 1 {
            let s = pb[0]
            for i in 0..<out.count { o[i] = f(pa[i], s) }
        } else if a.count == 1 {
            let s = pa[0]
            for i in 0..<out.count { o[i] = f(s, pb[i]) }
        } else {
            let sa = broadcastStrides(a.shape, to: out.shape), sb = broadcastStrides(b.shape, to: out.shape)
            let so = broadcastStrides(out.shape, to: out.shape)
            forEachRow(out.shape, [so, sa, sb]) { off, len, inner in
                let oo = o + off[0], aa = pa + off[1], bb = pb + off[2], ia = inner[1], ib = inner[2]
                for j in 0..<len { oo[j] = f(aa[j * ia], bb[j * ib]) }
            }
        }
    }

    static func binaryShape(_ a: Tensor, _ b: Tensor, _ op: String) -> [Int] {
        guard let s = broadcastShape(a.shape, b.shape) else {
            preconditionFailure("\(op): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        return s
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let shape = binaryShape(a, b, "add")
        let out = result(shape: shape, parents: [a, b]) { out in
            let g = out.grad!
            if a.requiresGrad { a.accumulateBroadcastGrad(g, fullShape: out.shape) }
            if b.requiresGrad { b.accumulateBroadcastGrad(g, fullShape: out.shape) }
        }
        broadcastMap(a, b, out, +)
        return out
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let shape = binaryShape(a, b, "sub")
        let out = result(shape: shape, parents: [a, b]) { out in
            let g = out.grad!
            if a.requiresGrad { a.accumulateBroadcastGrad(g, fullShape: out.shape) }
            if b.requiresGrad {
                let neg = Tensor(shape: out.shape, zeroed: false)
                for i in 0..<out.count { neg.data[i] = -g[i] }
                b.accumulateBroadcastGrad(neg)
            }
        }
        broadcastMap(a, b, out, -)
        return out
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let shape = binaryShape(a, b, "mul")
        let out = result(shape: shape, parents: [a, b]) { out in
            let g = out.grad!
            // d(a*b)/da = b (broadcast to the full shape), then summed back to a's shape.
            if a.requiresGrad { a.accumulateBroadcastGrad(productWith(g, b, out.shape)) }
            if b.requiresGrad { b.accumulateBroadcastGrad(productWith(g, a, out.shape)) }
        }
        broadcastMap(a, b, out, *)
        return out
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let shape = binaryShape(a, b, "div")
        let out = result(shape: shape, parents: [a, b]) { out in
            let g = out.grad!
            let full = Tensor(shape: out.shape, zeroed: false)
            if a.requiresGrad {
                let gt = Tensor(shape: out.shape, zeroed: false)
                gt.data.update(from: g, count: out.count)
                broadcastMap(gt, b, full, /)
                a.accumulateBroadcastGrad(full)
            }
            if b.requiresGrad {
                // d(a/b)/db = -out/b
                broadcastMap(out, b, full) { o, bv in -o / bv }
                for i in 0..<out.count { full.data[i] *= g[i] }
                b.accumulateBroadcastGrad(full)
            }
        }
        broadcastMap(a, b, out, /)
        return out
    }

    /// g * broadcast(x) over `shape`, as a new tensor.
    private static func productWith(_ g: UnsafeMutablePointer<Float>, _ x: Tensor, _ shape: [Int]) -> Tensor {
        let gt = Tensor(shape: shape, zeroed: false)
        gt.data.update(from: g, count: gt.count)
        let out = Tensor(shape: shape, zeroed: false)
        broadcastMap(gt, x, out, *)
        return out
    }

    public static func + (a: Tensor, s: Float) -> Tensor { a.map(forward: { $0 + s }, derivative: { _, _ in 1 }) }
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map(forward: { $0 * s }, derivative: { _, _ in s }) }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static func - (s: Float, a: Tensor) -> Tensor { a.map(forward: { s - $0 }, derivative: { _, _ in -1 }) }
    public static prefix func - (a: Tensor) -> Tensor { a * -1 }
}
