import Foundation
import BottleneckCore

/// Softmax cross-entropy of logits [N, C] against integer class labels, averaged over the batch
/// (PyTorch's `F.cross_entropy`). Fused: the log-sum-exp is shifted by each row's maximum, and the
/// gradient is (softmax - one-hot) / N.
public func softmaxCrossEntropy(_ logits: Tensor, labels: [Int]) -> Tensor {
    precondition(logits.rank == 2 && labels.count == logits.shape[0], "softmaxCrossEntropy: logits \(logits.shape) for \(labels.count) labels")
    let n = logits.shape[0], c = logits.shape[1]
    precondition(labels.allSatisfy { (0..<c).contains($0) }, "softmaxCrossEntropy: a label lies outside 0..<\(c)")
    let probabilities = Tensor(shape: [n, c], zeroed: false)
    var total = 0.0
    for r in 0..<n {
        let z = logits.data + r * c, p = probabilities.data + r * c
        var top = -Float.infinity
        for j in 0..<c { top = max(top, z[j]) }
        var sum: Float = 0
        for j in 0..<c { p[j] = Foundation.exp(z[j] - top); sum += p[j] }
        for j in 0..<c { p[j] /= sum }
        total += Double(Foundation.log(sum) + top - z[labels[r]])
    }
    let out = Tensor.result(shape: [], parents: [logits]) { out in
        let g = out.grad![0] / Float(max(n, 1)), dz = logits.gradBuffer()
        for r in 0..<n {
            let p = probabilities.data + r * c, d = dz + r * c
            for j in 0..<c { d[j] += g * p[j] }
            d[labels[r]] -= g
        }
    }
    out.data[0] = Float(total / Double(max(n, 1)))
    return out
}
