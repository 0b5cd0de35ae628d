/// Matrix products through BLAS.
extension Tensor {
    /// [m,k] x [k,n] -> [m,n].
    public func matmul(_ b: Tensor) -> Tensor {
        let a = self
        precondition(a.rank == 2 && b.rank == 2 && a.shape[1] == b.shape[0],
                     "matmul: shapes \(a.shape) and \(b.shape) do not fit")
        let m = a.shape[0], k = a.shape[1], n = b.shape[1]
        let out = Tensor.result(shape: [m, n], parents: [a, b]) { out in
            let g = out.grad!
            // dA = dC B^T, dB = A^T dC
            if a.requiresGrad {
                let (da, add) = a.gradDestination()
                sgemm(transB: true, m: m, n: k, k: n, a: g, lda: n, b: b.data, ldb: n, beta: add ? 1 : 0, c: da, ldc: k)
            }
            if b.requiresGrad {
                let (db, add) = b.gradDestination()
                sgemm(transA: true, m: k, n: n, k: m, a: a.data, lda: k, b: g, ldb: n, beta: add ? 1 : 0, c: db, ldc: n)
            }
        }
        sgemm(m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: n, c: out.data, ldc: n)
        return out
    }

    /// The fully-connected layer: x[n,in] W[out,in]^T + b[out] -> [n,out] (PyTorch's weight layout).
    public func linear(weight w: Tensor, bias: Tensor?) -> Tensor {
        let x = self
        precondition(x.rank == 2 && w.rank == 2 && x.shape[1] == w.shape[1],
                     "linear: input \(x.shape) does not fit weight \(w.shape)")
        let n = x.shape[0], fin = w.shape[1], fout = w.shape[0]
        let parents = bias.map { [x, w, $0] } ?? [x, w]
        let out = Tensor.result(shape: [n, fout], parents: parents) { out in
            let g = out.grad!
            // beta 0 when the destination holds no gradient yet: no zeroing, no reading it back.
            if x.requiresGrad {
                let (dx, add) = x.gradDestination()
                sgemm(m: n, n: fin, k: fout, a: g, lda: fout, b: w.data, ldb: fin, beta: add ? 1 : 0, c: dx, ldc: fin)
            }
            if w.requiresGrad {
                let (dw, add) = w.gradDestination()
                sgemm(transA: true, m: fout, n: fin, k: n, a: g, lda: fout, b: x.data, ldb: fin, beta: add ? 1 : 0, c: dw, ldc: fin)
            }
            if let bias, bias.requiresGrad {
                let db = bias.gradBuffer()
                for r in 0..<n { vectorMap(db, g + r * fout, db, fout) { $0 + $1 } }
            }
        }
        let o = out.data
        if let bias {
            for r in 0..<n { (o + r * fout).update(from: bias.data, count: fout) }
        }
        sgemm(transB: true, m: n, n: fout, k: fin, a: x.data, lda: fin, b: w.data, ldb: fin, beta: bias == nil ? 0 : 1, c: o, ldc: fout)
        return out
    }
}
