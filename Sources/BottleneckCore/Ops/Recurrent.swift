import Foundation

/// Sequence ops: the fused one-layer LSTM and repeating a vector along a time axis.
extension Tensor {
    /// A one-layer LSTM over a batch-first sequence x [N, T, I], as PyTorch's nn.LSTM: weights
    /// `weightIH` [4H, I], `weightHH` [4H, H], biases [4H], gates stacked in PyTorch's order
    /// (input, forget, cell, output). `h0`/`c0` [N, H] default to zeros.
    /// Returns every step's hidden state [N, T, H] and the last hidden and cell states [N, H].
    ///
    /// Fused into one graph node: x·W_ih for all steps is one GEMM, then each step adds h·W_hh (one
    /// GEMM) and applies the gates in place; backward runs back through time the same way and
    /// forms the weight gradients as single GEMMs over all steps.
    public func lstm(weightIH: Tensor, weightHH: Tensor, biasIH: Tensor, biasHH: Tensor,
                     h0: Tensor? = nil, c0: Tensor? = nil) -> (output: Tensor, h: Tensor, c: Tensor) {
        let x = self
        precondition(x.rank == 3, "lstm: input must be [N, T, I], shape is \(x.shape)")
        let n = x.shape[0], steps = x.shape[1], inSize = x.shape[2], h = weightHH.shape.last ?? 0, g4 = 4 * h
        precondition(steps > 0, "lstm: the sequence has no time steps")
        precondition(weightIH.shape == [g4, inSize] && weightHH.shape == [g4, h] && biasIH.shape == [g4] && biasHH.shape == [g4],
                     "lstm: weights \(weightIH.shape), \(weightHH.shape), biases \(biasIH.shape), \(biasHH.shape) do not fit input size \(inSize), hidden size \(h)")
        precondition(h0.map { $0.shape == [n, h] } ?? true && c0.map { $0.shape == [n, h] } ?? true,
                     "lstm: initial states \(h0?.shape ?? []), \(c0?.shape ?? []) must be [\(n), \(h)]")

        // Activated gates [N, T, 4H], cell states and their tanh [N, T, H], kept for the backward
        // pass (transcendentals, not GEMMs, dominate an LSTM's time: none is computed twice).
        let gates = Tensor(shape: [n, steps, g4], zeroed: false)
        let cells = Tensor(shape: [n, steps, h], zeroed: false)
        let cellsTanh = Tensor(shape: [n, steps, h], zeroed: false)
        let zeros = Tensor(shape: [n, h])  // the default initial state
        let hStart = h0 ?? zeros, cStart = c0 ?? zeros
        let rowStride = steps * g4  // between batch rows of one step's gates

        var parents = [x, weightIH, weightHH, biasIH, biasHH]
        if let h0 { parents.append(h0) }
        if let c0 { parents.append(c0) }
        // One buffer holds output, h_n and c_n; the three results are views of it.
        let packed = Tensor.result(shape: [n * steps * h + 2 * n * h], parents: parents) { packed in
            let gOut = packed.grad!, gh = gOut + n * steps * h, gc = gh + n * h
            let output = packed.data
            let dGates = Tensor(shape: [n, steps, g4], zeroed: false)
            let dh = Tensor(shape: [n, h], zeroed: false), dc = Tensor(shape: [n, h], zeroed: false)
            dh.data.update(from: gh, count: n * h)
            dc.data.update(from: gc, count: n * h)
            let gv = gates.data, cv = cells.data, tcv = cellsTanh.data, dgv = dGates.data, dhv = dh.data, dcv = dc.data
            for t in stride(from: steps - 1, through: 0, by: -1) {
                for b in 0..<n {
                    let row = b * steps + t
                    let gr = gv + row * g4, dg = dgv + row * g4, tcCur = tcv + row * h, go = gOut + row * h
                    let cPrev = t > 0 ? cv + (row - 1) * h : cStart.data + b * h
                    let dhb = dhv + b * h, dcb = dcv + b * h
                    for j in 0..<h {
                        let i = gr[j], f = gr[h + j], g = gr[2 * h + j], o = gr[3 * h + j]
                        let dhj = dhb[j] + go[j]
                        let tc = tcCur[j]
                        let dcj = dcb[j] + dhj * o * (1 - tc * tc)
                        dg[j] = dcj * g * i * (1 - i)
                        dg[h + j] = dcj * cPrev[j] * f * (1 - f)
                        dg[2 * h + j] = dcj * i * (1 - g * g)
                        dg[3 * h + j] = dhj * tc * o * (1 - o)
                        dcb[j] = dcj * f
                    }
                }
                if t > 0 || h0?.requiresGrad == true {
                    // dh_{t-1} = dGates_t · W_hh
                    sgemm(m: n, n: h, k: g4, a: dgv + t * g4, lda: rowStride, b: weightHH.data, ldb: h, c: dhv, ldc: h)
                }
            }
            if let h0, h0.requiresGrad { let d = h0.gradBuffer(); for k in 0..<(n * h) { d[k] += dhv[k] } }
            if let c0, c0.requiresGrad { let d = c0.gradBuffer(); for k in 0..<(n * h) { d[k] += dcv[k] } }
            let rows = n * steps
            if x.requiresGrad {
                sgemm(m: rows, n: inSize, k: g4, a: dgv, lda: g4, b: weightIH.data, ldb: inSize, beta: 1, c: x.gradBuffer(), ldc: inSize)
            }
            if weightIH.requiresGrad {
                sgemm(transA: true, m: g4, n: inSize, k: rows, a: dgv, lda: g4, b: x.data, ldb: inSize, beta: 1, c: weightIH.gradBuffer(), ldc: inSize)
            }
            if weightHH.requiresGrad {
                // The hidden state each step started from, as one matrix [N*T, H].
                let hPrev = Tensor(shape: [n, steps, h], zeroed: false)
                for b in 0..<n {
                    let dst = hPrev.data + b * steps * h
                    dst.update(from: hStart.data + b * h, count: h)
                    if steps > 1 { (dst + h).update(from: output + b * steps * h, count: (steps - 1) * h) }
                }
                sgemm(transA: true, m: g4, n: h, k: rows, a: dgv, lda: g4, b: hPrev.data, ldb: h, beta: 1, c: weightHH.gradBuffer(), ldc: h)
            }
            if biasIH.requiresGrad || biasHH.requiresGrad {
                let db = Tensor(shape: [g4])
                for r in 0..<rows { let s = dgv + r * g4; for j in 0..<g4 { db.data[j] += s[j] } }
                for bias in [biasIH, biasHH] where bias.requiresGrad {
                    let d = bias.gradBuffer()
                    for j in 0..<g4 { d[j] += db.data[j] }
                }
            }
        }

        // Forward. Pre-activations of all steps: x·W_ih^T + b_ih + b_hh in one GEMM.
        let gv = gates.data, cv = cells.data, tcv = cellsTanh.data, output = packed.data
        for j in 0..<g4 { gv[j] = biasIH.data[j] + biasHH.data[j] }
        for r in stride(from: 1, to: n * steps, by: 1) { (gv + r * g4).update(from: gv, count: g4) }
        sgemm(transB: true, m: n * steps, n: g4, k: inSize, a: x.data, lda: inSize, b: weightIH.data, ldb: inSize,
              beta: 1, c: gv, ldc: g4)
        for t in 0..<steps {
            if t > 0 || h0 != nil {
                // + h_{t-1}·W_hh^T, straight into this step's gate rows (nothing to add from a zero h0).
                let hPrev = t > 0 ? output + (t - 1) * h : hStart.data, hStride = t > 0 ? steps * h : h
                sgemm(transB: true, m: n, n: g4, k: h, a: hPrev, lda: hStride, b: weightHH.data, ldb: h,
                      beta: 1, c: gv + t * g4, ldc: rowStride)
            }
            for b in 0..<n {
                let row = b * steps + t
                let gr = gv + row * g4, cOut = cv + row * h, tcOut = tcv + row * h, hOut = output + row * h
                let cPrev = t > 0 ? cv + (row - 1) * h : cStart.data + b * h
                for j in 0..<h {
                    let i = stableSigmoid(gr[j]), f = stableSigmoid(gr[h + j])
                    let g = Foundation.tanh(gr[2 * h + j]), o = stableSigmoid(gr[3 * h + j])
                    gr[j] = i; gr[h + j] = f; gr[2 * h + j] = g; gr[3 * h + j] = o
                    let c = f * cPrev[j] + i * g
                    let tc = Foundation.tanh(c)
                    cOut[j] = c; tcOut[j] = tc
                    hOut[j] = o * tc
                }
            }
        }
        let hN = output + n * steps * h, cN = hN + n * h
        for b in 0..<n {
            (hN + b * h).update(from: output + (b * steps + steps - 1) * h, count: h)
            (cN + b * h).update(from: cv + (b * steps + steps - 1) * h, count: h)
        }
        return (packed.view(shape: [n, steps, h]), packed.view(shape: [n, h], offset: n * steps * h),
                packed.view(shape: [n, h], offset: n * steps * h + n * h))
    }

    /// [N, ...] -> [N, steps, ...]: each sample repeated along a new time axis (Keras's RepeatVector);
    /// the gradient sums over the steps.
    public func repeated(steps: Int) -> Tensor {
        precondition(rank >= 1 && steps >= 0, "repeated(steps:): needs a batch axis and steps >= 0, shape \(shape), steps \(steps)")
        let x = self, n = shape[0], size = n == 0 ? 0 : count / n
        let out = Tensor.result(shape: [n, steps] + shape.dropFirst(), parents: [x]) { out in
            let g = out.grad!, dx = x.gradBuffer()
            for b in 0..<n {
                let d = dx + b * size
                for t in 0..<steps { let s = g + (b * steps + t) * size; for j in 0..<size { d[j] += s[j] } }
            }
        }
        for b in 0..<n {
            for t in 0..<steps { (out.data + (b * steps + t) * size).update(from: data + b * size, count: size) }
        }
        return out
    }
}
