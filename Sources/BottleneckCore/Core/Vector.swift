import CKernels

/// Elementwise loops over float buffers, eight lanes at a time. Loops that need exp, log or a
/// square root live in C (CKernels), where they get vector instructions.
///
/// The last partial vector goes through the same arithmetic as the others (padded, then stored
/// lane by lane), so a value never depends on where in a buffer it lies.
@usableFromInline package typealias Float8 = SIMD8<Float>

@inlinable @inline(__always) package func load8(_ p: UnsafePointer<Float>) -> Float8 { UnsafeRawPointer(p).loadUnaligned(as: Float8.self) }
@inlinable @inline(__always) package func load8(_ p: UnsafeMutablePointer<Float>) -> Float8 { UnsafeRawPointer(p).loadUnaligned(as: Float8.self) }
@inlinable @inline(__always) package func store8(_ v: Float8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float8.self)
}

/// The first `n` (< 8) floats at `p`, zero-padded.
@inline(__always) package func loadPartial(_ p: UnsafePointer<Float>, _ n: Int) -> Float8 {
    var v = Float8()
    for k in 0..<n { v[k] = p[k] }
    return v
}

@inline(__always) func storePartial(_ v: Float8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for k in 0..<n { p[k] = v[k] }
}

/// out[i] = f(x[i]) for i < n. `out` may be `x`.
@inline(__always)
func vectorMap(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int, _ f: (Float8) -> Float8) {
    var i = 0
    while i + 8 <= n {
        store8(f(load8(x + i)), out + i)
        i += 8
    }
    if i < n { storePartial(f(loadPartial(x + i, n - i)), out + i, n - i) }
}

/// out[i] = f(a[i], b[i]) for i < n. `out` may be `a` or `b`.
@inline(__always)
func vectorMap(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ n: Int,
               _ f: (Float8, Float8) -> Float8) {
    var i = 0
    while i + 8 <= n {
        store8(f(load8(a + i), load8(b + i)), out + i)
        i += 8
    }
    if i < n { storePartial(f(loadPartial(a + i, n - i), loadPartial(b + i, n - i)), out + i, n - i) }
}

/// The C kernels, with Swift's integer and pointer types.
package enum VectorMath {
    static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) { bn_sigmoid(x, y, n) }
    static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) { bn_exp(x, y, n) }
    /// Sum of -(t max(log p, -100) + (1 - t) max(log(1 - p), -100)), in Double.
    package static func bceSum(_ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ n: Int) -> Double { bn_bce_sum(p, t, n) }
    /// d (+)= scale * (p - t) / max((1 - p) p, 1e-12).
    package static func bceGradient(_ p: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int,
                            _ scale: Float, _ accumulate: Bool) {
        bn_bce_grad(p, t, d, n, scale, accumulate ? 1 : 0)
    }
    /// Sum of max(x, 0) - x t + log(1 + e^-|x|), in Double.
    package static func bceLogitsSum(_ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ n: Int) -> Double { bn_bce_logits_sum(x, t, n) }
    /// d (+)= scale * (sigmoid(x) - t).
    package static func bceLogitsGradient(_ x: UnsafePointer<Float>, _ t: UnsafePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ n: Int,
                                  _ scale: Float, _ accumulate: Bool) {
        bn_bce_logits_grad(x, t, d, n, scale, accumulate ? 1 : 0)
    }
}

/// Sums over float buffers accumulated in Double, eight lanes at a time: a long Float sum loses
/// digits, and one scalar Double chain waits on every addition.
enum DoubleSums {
    /// The sum of p[i].
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
        var acc = SIMD8<Double>()
        var i = 0
        while i + 8 <= n { acc += SIMD8<Double>(load8(p + i)); i += 8 }
        var total = acc.sum()
        while i < n { total += Double(p[i]); i += 1 }
        return total
    }

    /// The sum of (p[i] - mean)^2, the difference taken in Double.
    static func squaredDeviations(_ p: UnsafePointer<Float>, _ n: Int, mean: Double) -> Double {
        var acc = SIMD8<Double>()
        let mu = SIMD8<Double>(repeating: mean)
        var i = 0
        while i + 8 <= n { let d = SIMD8<Double>(load8(p + i)) - mu; acc += d * d; i += 8 }
        var total = acc.sum()
        while i < n { let d = Double(p[i]) - mean; total += d * d; i += 1 }
        return total
    }

    /// The sums of g[i] and of g[i] (x[i] - mean) invStd (each term in Float): batch norm's backward.
    static func gradientAndCentred(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int, mean: Float, invStd: Float) -> (Double, Double) {
        var accG = SIMD8<Double>(), accGX = SIMD8<Double>()
        var i = 0
        while i + 8 <= n {
            let gv = load8(g + i)
            accG += SIMD8<Double>(gv)
            accGX += SIMD8<Double>(gv * (load8(x + i) - mean) * invStd)
            i += 8
        }
        var sumG = accG.sum(), sumGX = accGX.sum()
        while i < n { sumG += Double(g[i]); sumGX += Double(g[i] * (x[i] - mean) * invStd); i += 1 }
        return (sumG, sumGX)
    }
}
