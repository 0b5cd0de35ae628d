import Foundation

/// The one seeded source of randomness. A model, a data order and the noise of a run all draw from
/// a generator passed in explicitly, so a seed fixes every weight and every batch.
/// xoshiro256** seeded through splitmix64.
public final class RandomGenerator: RandomNumberGenerator {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)
    private var spareNormal: Float?

    public init(seed: UInt64) {
        var s = seed
        func splitmix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// The full state, to save in a checkpoint and restore on resume.
    public var snapshot: [UInt64] { [state.0, state.1, state.2, state.3] + (spareNormal.map { [1, UInt64($0.bitPattern)] } ?? [0, 0]) }

    public func restore(_ s: [UInt64]) {
        precondition(s.count == 6, "random state needs 6 words")
        state = (s[0], s[1], s[2], s[3])
        spareNormal = s[4] == 1 ? Float(bitPattern: UInt32(truncatingIfNeeded: s[5])) : nil
    }

    public func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 random bits.
    @inline(__always) public func uniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    public func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * uniform() }

    /// Standard normal (Box-Muller; the second value of each pair is kept for the next call).
    public func normal() -> Float {
        if let s = spareNormal { spareNormal = nil; return s }
        var u1 = uniform()
        while u1 <= Float.leastNormalMagnitude { u1 = uniform() }
        let u2 = uniform()
        let r = (-2 * log(Double(u1))).squareRoot()
        let theta = 2 * Double.pi * Double(u2)
        spareNormal = Float(r * sin(theta))
        return Float(r * cos(theta))
    }

    public func int(below n: Int) -> Int { Int(next() % UInt64(n)) }

    /// A random permutation of 0..<n (Fisher-Yates).
    public func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, int(below: i + 1)) }
        return p
    }

    /// A child generator with its own stream, e.g. for the noise of a data pipeline.
    public func split() -> RandomGenerator { RandomGenerator(seed: next()) }
}

extension Tensor {
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, rng: RandomGenerator) -> Tensor {
        let t = Tensor(shape: shape, zeroed: false)
        for i in 0..<t.count { t.data[i] = rng.uniform(low, high) }
        return t
    }

    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, rng: RandomGenerator) -> Tensor {
        let t = Tensor(shape: shape, zeroed: false)
        for i in 0..<t.count { t.data[i] = mean + std * rng.normal() }
        return t
    }

    /// 1 with probability p, else 0.
    public static func bernoulli(_ shape: [Int], p: Float, rng: RandomGenerator) -> Tensor {
        let t = Tensor(shape: shape, zeroed: false)
        for i in 0..<t.count { t.data[i] = rng.uniform() < p ? 1 : 0 }
        return t
    }
}
