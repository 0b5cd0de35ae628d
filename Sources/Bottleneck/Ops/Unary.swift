import Foundation

/// Elementwise unary ops and activations. Each gives its forward map and its derivative,
/// written in terms of the input x and the output y (whichever is cheaper).
extension Tensor {
    /// The generic elementwise op: y = f(x), dx = dy * f'(x, y).
    public func map(forward f: (Float) -> Float, derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Tensor {
        let x = self
        let out = Tensor.result(shape: shape, parents: [x]) { out in
            let g = out.grad!, dx = x.gradBuffer(), xv = x.data, yv = out.data
            for i in 0..<out.count { dx[i] += g[i] * derivative(xv[i], yv[i]) }
        }
        let o = out.data, xv = data
        for i in 0..<count { o[i] = f(xv[i]) }
        return out
    }

    public func relu() -> Tensor { map(forward: { $0 > 0 ? $0 : 0 }, derivative: { x, _ in x > 0 ? 1 : 0 }) }

    public func leakyRelu(_ slope: Float = 0.01) -> Tensor {
        map(forward: { $0 > 0 ? $0 : slope * $0 }, derivative: { x, _ in x > 0 ? 1 : slope })
    }

    public func sigmoid() -> Tensor { map(forward: stableSigmoid, derivative: { _, y in y * (1 - y) }) }

    public func tanh() -> Tensor { map(forward: { Foundation.tanh($0) }, derivative: { _, y in 1 - y * y }) }

    /// log(1 + e^x), written to neither overflow nor lose precision.
    public func softplus() -> Tensor {
        map(forward: { x in x > 20 ? x : log1p(Foundation.exp(x)) }, derivative: { x, _ in stableSigmoid(x) })
    }

    /// GELU with the exact erf form (PyTorch's default).
    public func gelu() -> Tensor {
        map(forward: { x in 0.5 * x * (1 + erf(x / 2.0.squareRoot().asFloat)) },
            derivative: { x, _ in
                let cdf = 0.5 * (1 + erf(x / 2.0.squareRoot().asFloat))
                let pdf = Foundation.exp(-0.5 * x * x) / (2 * Float.pi).squareRoot()
                return cdf + x * pdf
            })
    }

    public func exp() -> Tensor { map(forward: { Foundation.exp($0) }, derivative: { _, y in y }) }
    public func log() -> Tensor { map(forward: { Foundation.log($0) }, derivative: { x, _ in 1 / x }) }
    public func sqrt() -> Tensor { map(forward: { $0.squareRoot() }, derivative: { _, y in 0.5 / y }) }
    public func square() -> Tensor { map(forward: { $0 * $0 }, derivative: { x, _ in 2 * x }) }
    public func abs() -> Tensor { map(forward: { Swift.abs($0) }, derivative: { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }) }
    public func pow(_ p: Float) -> Tensor {
        map(forward: { Foundation.pow($0, p) }, derivative: { x, _ in p * Foundation.pow(x, p - 1) })
    }

    /// Clamps to [low, high]; the gradient passes only where the value was inside.
    public func clamp(_ low: Float, _ high: Float) -> Tensor {
        map(forward: { Swift.min(Swift.max($0, low), high) }, derivative: { x, _ in x >= low && x <= high ? 1 : 0 })
    }
}

@inline(__always) func stableSigmoid(_ x: Float) -> Float {
    x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
}

extension Double { var asFloat: Float { Float(self) } }
