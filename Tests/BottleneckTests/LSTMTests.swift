import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// The fused LSTM and RepeatVector: gradients, PyTorch parity, shapes, bad input.
final class LSTMTests: XCTestCase {
    /// Output, h and c of one LSTM run side by side, so one gradient check covers all three.
    private func lstmAll(_ t: [Tensor], initial: Bool) -> Tensor {
        let r = t[0].lstm(weightIH: t[1], weightHH: t[2], biasIH: t[3], biasHH: t[4],
                          h0: initial ? t[5] : nil, c0: initial ? t[6] : nil)
        let n = r.h.shape[0]
        return Tensor.concat([r.output.reshaped([n, -1]), r.h, r.c], axis: 1)
    }

    func testLSTMGradients() {
        for (n, steps, i, h) in [(2, 3, 3, 2), (1, 4, 2, 3), (3, 1, 2, 2)] {
            let inputs = [randn([n, steps, i], seed: 1), randn([4 * h, i], seed: 2) * 0.5, randn([4 * h, h], seed: 3) * 0.5,
                          randn([4 * h], seed: 4) * 0.5, randn([4 * h], seed: 5) * 0.5].map { $0.detached() }
            gradCheck(inputs) { lstmAll($0, initial: false) }
            let states = [randn([n, h], seed: 6), randn([n, h], seed: 7)]
            gradCheck(inputs + states) { lstmAll($0, initial: true) }
        }
    }

    func testLSTMMatchesPyTorch() throws {
        let c = try ParityCase("lstm.safetensors")
        let lstm = LSTM(c.int("input_size"), c.int("hidden_size"), rng: RandomGenerator(seed: 0))
        for (name, p) in lstm.namedParameters() { p.assign(c[name]) }
        let x = c["input"].copy(); x.requiresGrad = true
        let (output, h, cell) = lstm.forward(x)
        let n = x.shape[0], hidden = lstm.hiddenSize
        assertClose(output, c["output"], "output")
        assertClose(h, c["h_n"].reshaped([n, hidden]), "h_n")
        assertClose(cell, c["c_n"].reshaped([n, hidden]), "c_n")
        let loss = (output * c["grad_output"]).sum() + (h * c["grad_h_n"].reshaped([n, hidden])).sum()
            + (cell * c["grad_c_n"].reshaped([n, hidden])).sum()
        loss.backward()
        assertClose(x.gradient, c["grad_input"], "grad_input")
        for (name, p) in lstm.namedParameters() { assertClose(p.gradient, c["grad_" + name], "grad_" + name) }
        XCTAssertEqual(lstm(c["input"]).scalars, output.scalars)
    }

    func testLSTMInitialStateContinuesASequence() {
        // Running 5 steps at once equals 3 steps then 2 more from the state reached.
        let lstm = LSTM(3, 4, rng: RandomGenerator(seed: 2)), x = randn([2, 5, 3])
        let whole = lstm.forward(x)
        let first = lstm.forward(x.narrow(axis: 1, start: 0, length: 3))
        let rest = lstm.forward(x.narrow(axis: 1, start: 3, length: 2), initial: (first.h, first.c))
        assertClose(rest.output, whole.output.narrow(axis: 1, start: 3, length: 2), tol: 1e-6)
        assertClose(rest.h, whole.h, tol: 1e-6); assertClose(rest.c, whole.c, tol: 1e-6)
    }

    func testLSTMParametersAndInit() {
        let lstm = LSTM(3, 4, rng: RandomGenerator(seed: 1))
        XCTAssertEqual(lstm.namedParameters().map(\.0), ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"])
        XCTAssertEqual(lstm.namedParameters().map(\.1.shape), [[16, 3], [16, 4], [16], [16]])
        for p in lstm.parameters { XCTAssertLessThanOrEqual(p.scalars.map { Swift.abs($0) }.max()!, 0.5) }
    }

    func testLSTMShapesAndBadInput() throws {
        let lstm = LSTM(3, 4, rng: RandomGenerator(seed: 1))
        XCTAssertEqual(try lstm.outputShape(for: [7, 3]), [7, 4])
        for bad in [[7, 5], [3], [2, 7, 3]] {
            XCTAssertThrowsError(try lstm.outputShape(for: bad)) { error in
                XCTAssertEqual((error as? BottleneckError)?.message, "LSTM(3 -> 4): expects input [T, 3], got \(formatShape(bad))")
            }
        }
        XCTAssertThrowsError(try Sequential(lstm, RepeatVector(2)).outputShape(for: [5, 3]), "[5, 4] is not a vector")
    }

    func testRepeatVector() throws {
        gradCheck([randn([3, 4])]) { $0[0].repeated(steps: 5) }
        gradCheck([randn([2, 2, 3])]) { $0[0].repeated(steps: 2) }
        let x = Tensor(shape: [2, 2], values: [1, 2, 3, 4])
        XCTAssertEqual(RepeatVector(3)(x).shape, [2, 3, 2])
        XCTAssertEqual(RepeatVector(3)(x).scalars, [1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4])
        XCTAssertEqual(try RepeatVector(3).outputShape(for: [8]), [3, 8])
        XCTAssertThrowsError(try RepeatVector(3).outputShape(for: [2, 8])) { error in
            XCTAssertEqual((error as? BottleneckError)?.message, "RepeatVector(3): expects input [H], got [2, 8]")
        }
    }
}
