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

    /// An elementwise op with vector loops (the kernel's type specialises this, so its gradient
    /// inlines into the backward loop).
    func elementwise<K: ElementwiseKernel>(_ kernel: K) -> Tensor {
        let x = self
        let out = Tensor.result(shape: shape, parents: [x]) { out in
            let (dx, accumulate) = x.gradDestination()
            kernel.backward(x: x.data, y: out.data, g: out.grad!, into: dx, accumulate: accumulate, count: out.count)
        }
        kernel.forward(data, out.data, count)
        return out
    }

    public func relu() -> Tensor { elementwise(ReLUKernel()) }

    public func leakyRelu(_ slope: Float = 0.01) -> Tensor { elementwise(LeakyReLUKernel(slope: slope)) }

    public func sigmoid() -> Tensor { elementwise(SigmoidKernel()) }

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

/// An activation's forward loop and its derivative for eight values at a time: dx from x, y = f(x), dy.
protocol ElementwiseKernel {
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int)
    func gradient(x: Float8, y: Float8, g: Float8) -> Float8
}

extension ElementwiseKernel {
    /// dx (+)= gradient(x, y, dy). Plain loops, not `vectorMap` with a closure: the closure of a
    /// generic kernel is not inlined, which costs a call per vector.
    @inline(__always)
    func backward(x: UnsafePointer<Float>, y: UnsafePointer<Float>, g: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>,
                  accumulate: Bool, count n: Int) {
        var i = 0
        if accumulate {
            while i + 8 <= n {
                store8(load8(dx + i) + gradient(x: load8(x + i), y: load8(y + i), g: load8(g + i)), dx + i)
                i += 8
            }
        } else {
            while i + 8 <= n {
                store8(gradient(x: load8(x + i), y: load8(y + i), g: load8(g + i)), dx + i)
                i += 8
            }
        }
        if i < n {
            let r = n - i
            var d = gradient(x: loadPartial(x + i, r), y: loadPartial(y + i, r), g: loadPartial(g + i, r))
            if accumulate { d += loadPartial(dx + i, r) }
            storePartial(d, dx + i, r)
        }
    }
}

struct ReLUKernel: ElementwiseKernel {
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        vectorMap(x, y, n) { $0.replacing(with: 0, where: .!($0 .> 0)) }
    }
    @inline(__always) func gradient(x: Float8, y: Float8, g: Float8) -> Float8 { g.replacing(with: 0, where: .!(x .> 0)) }
}

struct LeakyReLUKernel: ElementwiseKernel {
    let slope: Float
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        vectorMap(x, y, n) { $0.replacing(with: $0 * slope, where: .!($0 .> 0)) }
    }
    @inline(__always) func gradient(x: Float8, y: Float8, g: Float8) -> Float8 { g.replacing(with: g * slope, where: .!(x .> 0)) }
}

struct SigmoidKernel: ElementwiseKernel {
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) { VectorMath.sigmoid(x, y, n) }
    @inline(__always) func gradient(x: Float8, y: Float8, g: Float8) -> Float8 { g * (y * (1 - y)) }
}

@inline(__always) func stableSigmoid(_ x: Float) -> Float {
    x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
}

extension Double { var asFloat: Float { Float(self) } }
