/// NumPy-style broadcasting: shapes align on the right; a dimension of 1 stretches.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let n = max(a.count, b.count)
    var out = [Int](repeating: 1, count: n)
    for i in 0..<n {
        let da = i < n - a.count ? 1 : a[i - (n - a.count)]
        let db = i < n - b.count ? 1 : b[i - (n - b.count)]
        if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
    }
    return out
}

/// Strides of `shape` read as if broadcast to `target` (0 along stretched dimensions).
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let n = target.count
    var strides = [Int](repeating: 0, count: n)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        let t = i + (n - shape.count)
        strides[t] = shape[i] == 1 && target[t] != 1 ? 0 : s
        s *= shape[i]
    }
    return strides
}

/// Visits every element of `shape` in row-major order, handing the body the offsets of each operand
/// (given by its strides) for one whole row of the last dimension at a time.
@inline(__always)
func forEachRow(_ shape: [Int], _ strides: [[Int]], _ body: (_ offsets: [Int], _ rowLength: Int, _ inner: [Int]) -> Void) {
    let n = shape.count
    if n == 0 { body(Array(repeating: 0, count: strides.count), 1, Array(repeating: 0, count: strides.count)); return }
    let rowLength = shape[n - 1]
    let inner = strides.map { $0[n - 1] }
    var index = [Int](repeating: 0, count: n - 1)
    var offsets = [Int](repeating: 0, count: strides.count)
    let rows = shape.dropLast().reduce(1, *)
    if rows == 0 || rowLength == 0 { return }
    for _ in 0..<rows {
        body(offsets, rowLength, inner)
        var d = n - 2
        while d >= 0 {
            index[d] += 1
            for k in 0..<strides.count { offsets[k] += strides[k][d] }
            if index[d] < shape[d] { break }
            for k in 0..<strides.count { offsets[k] -= strides[k][d] * shape[d] }
            index[d] = 0
            d -= 1
        }
    }
}

extension Tensor {
    /// Sums a gradient of `fullShape` down to this tensor's shape (the adjoint of broadcasting),
    /// accumulating into this tensor's gradient.
    func accumulateBroadcastGrad(_ gradient: Tensor) {
        withExtendedLifetime(gradient) { accumulateBroadcastGrad(gradient.data, fullShape: gradient.shape) }
    }

    func accumulateBroadcastGrad(_ g: UnsafeMutablePointer<Float>, fullShape: [Int]) {
        let dst = gradBuffer()
        if fullShape == shape {
            for i in 0..<count { dst[i] += g[i] }
            return
        }
        let contiguous = broadcastStrides(fullShape, to: fullShape)
        let mine = broadcastStrides(shape, to: fullShape)
        forEachRow(fullShape, [contiguous, mine]) { off, len, inner in
            let src = g + off[0], d = dst + off[1], s = inner[1]
            if s == 0 {
                var acc: Float = 0
                for j in 0..<len { acc += src[j] }
                d[0] += acc
            } else {
                for j in 0..<len { d[j * s] += src[j] }
            }
        }
    }
}
