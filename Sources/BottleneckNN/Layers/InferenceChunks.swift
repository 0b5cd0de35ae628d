import BottleneckCore

/// Inference on a large batch (evaluation runs 1,000 images at a time) takes a convolution layer
/// over near-equal chunks of at most this many images: oneDNN's blocked copies of data and
/// results, and im2col's columns, then scale with the chunk, not the batch (whole, they held about
/// 50 MB more at 1,000 images on the conv preset than the training batches did).
let inferenceChunkImages = 128

/// `layer` applied to `x` chunk by chunk, or nil when `x` needs no chunking or the call records
/// gradients (`mode.training`: a training batch runs whole, as it was measured).
func inChunks(_ x: Tensor, _ mode: ConvolutionMeasurement, _ layer: (Tensor) -> Tensor) -> Tensor? {
    let n = x.shape.first ?? 0
    guard !mode.training, x.rank == 4, n > inferenceChunkImages else { return nil }
    let chunks = (n + inferenceChunkImages - 1) / inferenceChunkImages
    var out: Tensor?
    var start = 0
    for i in 0..<chunks {
        // Sizes differ by at most one image: at most two geometries, so two decisions.
        let size = n / chunks + (i < n % chunks ? 1 : 0)
        let y = layer(x.rows(start, size))
        let result = out ?? Tensor(shape: [n] + y.shape.dropFirst(), zeroed: false)
        (result.data + start * (y.count / size)).update(from: y.data, count: y.count)
        out = result
        start += size
    }
    return out
}
