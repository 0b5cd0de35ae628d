import BottleneckCore
/// A one-layer, batch-first LSTM as PyTorch's nn.LSTM(input, hidden, batch_first=True): parameters
/// `weight_ih_l0` [4H, I], `weight_hh_l0` [4H, H], `bias_ih_l0`, `bias_hh_l0` [4H], gates in the order
/// input, forget, cell, output; all initialised U(-1/sqrt(H), 1/sqrt(H)) as PyTorch does.
public final class LSTM: Module {
    public let inputSize: Int, hiddenSize: Int
    public let weightIH: Tensor, weightHH: Tensor, biasIH: Tensor, biasHH: Tensor

    public init(_ inputSize: Int, _ hiddenSize: Int, rng: RandomGenerator) {
        precondition(inputSize > 0 && hiddenSize > 0, "LSTM: sizes must be positive, got \(inputSize), \(hiddenSize)")
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let bound = 1 / Float(hiddenSize).squareRoot(), g4 = 4 * hiddenSize
        weightIH = parameter(.uniform([g4, inputSize], low: -bound, high: bound, rng: rng))
        weightHH = parameter(.uniform([g4, hiddenSize], low: -bound, high: bound, rng: rng))
        biasIH = parameter(.uniform([g4], low: -bound, high: bound, rng: rng))
        biasHH = parameter(.uniform([g4], low: -bound, high: bound, rng: rng))
    }

    public override var localParameters: [(String, Tensor)] {
        [("weight_ih_l0", weightIH), ("weight_hh_l0", weightHH), ("bias_ih_l0", biasIH), ("bias_hh_l0", biasHH)]
    }

    /// x [N, T, I] -> every step's hidden state [N, T, H] and the last hidden and cell states [N, H].
    /// `initial` (h0, c0), each [N, H], defaults to zeros.
    public func forward(_ x: Tensor, initial: (h: Tensor, c: Tensor)? = nil) -> (output: Tensor, h: Tensor, c: Tensor) {
        precondition(x.rank == 3 && x.shape[2] == inputSize && x.shape[1] > 0,
                     "LSTM(\(inputSize) -> \(hiddenSize)): input must be [N, T, \(inputSize)] with T > 0, got \(formatShape(x.shape))")
        return x.lstm(weightIH: weightIH, weightHH: weightHH, biasIH: biasIH, biasHH: biasHH, h0: initial?.h, c0: initial?.c)
    }

    /// The hidden state of every step, [N, T, H].
    public override func callAsFunction(_ x: Tensor) -> Tensor { forward(x).output }

    public override func outputShape(for input: [Int]) throws -> [Int] {
        guard input.count == 2, input[1] == inputSize, input[0] > 0 else {
            throw BottleneckError.shape(layer: "LSTM(\(inputSize) -> \(hiddenSize))", expected: "[T, \(inputSize)]", got: input)
        }
        return [input[0], hiddenSize]
    }

    public override var details: String { "\(inputSize) -> \(hiddenSize)" }
}

/// [N, H] -> [N, steps, H]: the code vector fed to every step of a sequence decoder.
public final class RepeatVector: Module {
    public let steps: Int

    public init(_ steps: Int) {
        precondition(steps > 0, "RepeatVector: steps must be positive, got \(steps)")
        self.steps = steps
    }

    public override func callAsFunction(_ x: Tensor) -> Tensor { x.repeated(steps: steps) }

    public override func outputShape(for input: [Int]) throws -> [Int] {
        guard input.count == 1 else {
            throw BottleneckError.shape(layer: "RepeatVector(\(steps))", expected: "[H]", got: input)
        }
        return [steps] + input
    }

    public override var details: String { "\(steps) steps" }
}
