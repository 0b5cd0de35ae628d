import Foundation
import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// SGD, AdamW, gradient clipping, learning-rate schedules and optimizer-state checkpoints.
final class OptimizerTests: XCTestCase {
    // MARK: SGD

    func testSGDNesterovMomentumMatchesPyTorch() throws {
        try ParityCoreTests.checkOptimizer("optim_sgd_momentum.safetensors") { p, d in
            SGD(parameters: [p], learningRate: (d["lr"] as! NSNumber).floatValue,
                momentum: (d["momentum"] as! NSNumber).floatValue,
                dampening: (d["dampening"] as! NSNumber).floatValue,
                nesterov: (d["nesterov"] as! NSNumber).boolValue,
                weightDecay: (d["weight_decay"] as! NSNumber).floatValue)
        }
    }

    func testAdamWFactoryMatchesPyTorch() throws {
        try ParityCoreTests.checkOptimizer("optim_adamw.safetensors") { p, d in
            AdamW(parameters: [p], learningRate: (d["lr"] as! NSNumber).floatValue,
                  weightDecay: (d["weight_decay"] as! NSNumber).floatValue)
        }
    }

    /// Sets a parameter's gradient directly, as backward() would.
    private func setGradient(_ p: Tensor, _ values: [Float]) {
        p.zeroGrad()
        p.gradBuffer().update(from: values, count: values.count)
    }

    func testPlainSGDFollowsTheFormula() {
        let w = Tensor([1, -2, 3]); w.requiresGrad = true
        let untouched = Tensor([5, 6]); untouched.requiresGrad = true  // no gradient: left alone
        let opt = SGD(parameters: [w, untouched], learningRate: 0.1, weightDecay: 0.01)
        let g: [Float] = [0.5, -1, 2]
        setGradient(w, g)
        opt.step()
        for i in 0..<3 {
            let w0: Float = [1, -2, 3][i]
            XCTAssertEqual(w.data[i], w0 - 0.1 * (g[i] + 0.01 * w0), accuracy: 1e-7)
        }
        XCTAssertEqual(untouched.scalars, [5, 6])
        XCTAssertEqual(opt.stateTensors().map(\.0), ["step"], "no momentum, no buffers")
    }

    func testSGDMomentumWithDampeningByHand() {
        let w = Tensor([2]); w.requiresGrad = true
        let opt = SGD(parameters: [w], learningRate: 0.5, momentum: 0.9, dampening: 0.25)
        setGradient(w, [1]); opt.step()   // first step: buffer = g = 1 (no dampening), w = 2 - 0.5
        XCTAssertEqual(w.item, 1.5, accuracy: 1e-7)
        setGradient(w, [2]); opt.step()   // buffer = 0.9 * 1 + 0.75 * 2 = 2.4, w = 1.5 - 1.2
        XCTAssertEqual(w.item, 0.3, accuracy: 1e-6)
        XCTAssertEqual(opt.stateTensors().first { $0.0 == "momentum_buffer.0" }?.1.item ?? 0, 2.4, accuracy: 1e-6)
    }

    func testSGDStateRejectsForeignBuffers() {
        let w = Tensor([1, 2]); w.requiresGrad = true
        let opt = SGD(parameters: [w], learningRate: 0.1, momentum: 0.9)
        XCTAssertThrowsError(try opt.loadState([:])) { XCTAssertTrue("\($0)".contains("'step'"), "\($0)") }
        XCTAssertThrowsError(try opt.loadState(["step": Tensor(scalar: 1), "momentum_buffer.3": Tensor([1, 2])])) {
            XCTAssertTrue("\($0)".contains("momentum_buffer.3"), "\($0)")
        }
        XCTAssertThrowsError(try opt.loadState(["step": Tensor(scalar: 1), "momentum_buffer.0": Tensor([1, 2, 3])])) {
            XCTAssertTrue("\($0)".contains("momentum_buffer.0") && "\($0)".contains("[3]"), "\($0)")
        }
    }

    // MARK: Clipping

    func testClipGradientNormScalesToTheMaximum() {
        let a = Tensor([0, 0]), b = Tensor([0]), noGrad = Tensor([7])
        for t in [a, b, noGrad] { t.requiresGrad = true }
        setGradient(a, [3, 4]); setGradient(b, [12])  // global norm sqrt(9 + 16 + 144) = 13
        let norm = clipGradientNorm([a, b, noGrad], maxNorm: 6.5)
        XCTAssertEqual(norm, 13, accuracy: 1e-6)
        let scale: Float = 6.5 / (13 + 1e-6)
        XCTAssertEqual(a.gradient.scalars, [3 * scale, 4 * scale])
        XCTAssertEqual(b.gradient.scalars, [12 * scale])
        XCTAssertNil(noGrad.grad)
        let after = (a.gradient.scalars + b.gradient.scalars).reduce(0) { $0 + $1 * $1 }.squareRoot()
        XCTAssertEqual(after, 6.5, accuracy: 1e-5)
    }

    func testClipGradientNormLeavesSmallGradientsAlone() {
        let a = Tensor([0, 0]); a.requiresGrad = true
        setGradient(a, [0.3, -0.4])
        XCTAssertEqual(clipGradientNorm([a], maxNorm: 1), 0.5, accuracy: 1e-7)
        XCTAssertEqual(a.gradient.scalars, [0.3, -0.4])
        XCTAssertEqual(clipGradientNorm([], maxNorm: 1), 0)
    }

    // MARK: Schedules

    func testScheduleValues() {
        func rate(_ s: LearningRateSchedule, step: Int = 0, epoch: Int = 0, total: Int = 10) -> Float {
            s.rate(base: 0.1, step: step, epoch: epoch, totalEpochs: total)
        }
        XCTAssertEqual(rate(.constant, step: 999, epoch: 7), 0.1)

        let stepDecay = LearningRateSchedule.step(every: 10, gamma: 0.5)
        XCTAssertEqual(rate(stepDecay, epoch: 0), 0.1, accuracy: 1e-9)
        XCTAssertEqual(rate(stepDecay, epoch: 9), 0.1, accuracy: 1e-9)
        XCTAssertEqual(rate(stepDecay, epoch: 10), 0.05, accuracy: 1e-9)
        XCTAssertEqual(rate(stepDecay, epoch: 25), 0.025, accuracy: 1e-9)

        let cosine = LearningRateSchedule.cosine(period: 4, minimum: 0.02)
        XCTAssertEqual(rate(cosine, epoch: 0), 0.1, accuracy: 1e-7)
        XCTAssertEqual(rate(cosine, epoch: 1), 0.02 + 0.08 * Float((1 + cos(Double.pi / 4)) / 2), accuracy: 1e-7)
        XCTAssertEqual(rate(cosine, epoch: 2), 0.06, accuracy: 1e-7)
        XCTAssertEqual(rate(cosine, epoch: 4), 0.02, accuracy: 1e-7)
        XCTAssertEqual(rate(cosine, epoch: 9), 0.02, accuracy: 1e-7, "stays at the minimum after T")
        let wholeRun = LearningRateSchedule.cosine(period: nil, minimum: 0)
        XCTAssertEqual(rate(wholeRun, epoch: 5, total: 10), 0.05, accuracy: 1e-7, "T defaults to the run's epochs")

        let warm = LearningRateSchedule.warmup(steps: 4, then: cosine)
        XCTAssertEqual(rate(warm, step: 0, epoch: 0), 0.025, accuracy: 1e-7)
        XCTAssertEqual(rate(warm, step: 1, epoch: 0), 0.05, accuracy: 1e-7)
        XCTAssertEqual(rate(warm, step: 3, epoch: 0), 0.1, accuracy: 1e-7)
        XCTAssertEqual(rate(warm, step: 100, epoch: 2), 0.06, accuracy: 1e-7)
        XCTAssertEqual(rate(warm, step: 1, epoch: 2), 0.06 * 0.5, accuracy: 1e-7, "warm-up multiplies the decay")
    }

    func testScheduleParsingAndCoding() throws {
        let good: [(String, LearningRateSchedule)] = [
            ("constant", .constant),
            ("step:10", .step(every: 10, gamma: 0.1)),
            ("step:10:0.5", .step(every: 10, gamma: 0.5)),
            ("cosine", .cosine(period: nil, minimum: 0)),
            ("cosine:50", .cosine(period: 50, minimum: 0)),
            ("cosine:50:1e-5", .cosine(period: 50, minimum: 1e-5)),
            ("cosine::1e-5", .cosine(period: nil, minimum: 1e-5)),
            ("warmup:500", .warmup(steps: 500, then: .constant)),
            ("warmup:500+cosine", .warmup(steps: 500, then: .cosine(period: nil, minimum: 0))),
            (" warmup:20+step:3:0.9 ", .warmup(steps: 20, then: .step(every: 3, gamma: 0.9))),
        ]
        for (text, expected) in good {
            let parsed = try LearningRateSchedule(parsing: text)
            XCTAssertEqual(parsed, expected, text)
            XCTAssertEqual(try LearningRateSchedule(parsing: parsed.description), parsed, "description of \(text)")
            let json = try JSONEncoder().encode([parsed])
            XCTAssertEqual(try JSONDecoder().decode([LearningRateSchedule].self, from: json), [parsed], String(decoding: json, as: UTF8.self))
        }
        XCTAssertEqual(String(decoding: try JSONEncoder().encode(["s": LearningRateSchedule.warmup(steps: 5, then: .step(every: 2, gamma: 0.5))]), as: UTF8.self),
                       #"{"s":"warmup:5+step:2:0.5"}"#)

        let bad = ["", "cosin", "linear", "step", "step:0", "step:-3:0.5", "step:2.5", "step:10:0", "step:10:abc",
                   "step:1:2:3", "cosine:0", "cosine:10:-1", "cosine:10:nan", "cosine:", "constant:1", "warmup",
                   "warmup:0+cosine", "warmup:x", "warmup:10+", "warmup:10+warmup:5", "cosine+warmup:10",
                   "warmup:5+cosine+step:2", "warmup:5:cosine"]
        for text in bad {
            XCTAssertThrowsError(try LearningRateSchedule(parsing: text), text) { error in
                XCTAssertTrue(error is BottleneckError, "\(text): \(error)")
                XCTAssertTrue("\(error)".contains("'\(text)'"), "the message names the value: \(error)")
            }
        }
        XCTAssertThrowsError(try JSONDecoder().decode([LearningRateSchedule].self, from: Data(#"["step:x"]"#.utf8))) {
            XCTAssertTrue("\($0)".contains("step:x"), "\($0)")
        }
    }

    // MARK: Checkpoint round trip

    /// A few steps of a small regression, so the state is far from its initial values.
    private func train(_ model: Linear, _ opt: StepOptimizer, steps: Int, from first: Int) {
        for k in first..<(first + steps) {
            let x = randn([8, 4], seed: UInt64(100 + k)), y = randn([8, 3], seed: UInt64(200 + k))
            opt.zeroGrad()
            mseLoss(model(x), y).backward()
            opt.step()
        }
    }

    private func assertResumesExactly(_ makeOptimizer: ([Tensor]) -> StepOptimizer) throws {
        let model = Linear(4, 3, rng: RandomGenerator(seed: 1))
        let opt = makeOptimizer(model.parameters)
        train(model, opt, steps: 3, from: 0)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("optim-state-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensors(tensors: model.stateDict().map { ("model.\($0.0)", $0.1) }
                            + opt.stateTensors().map { ("optimizer.\($0.0)", $0.1) }).write(to: path)

        let file = try SafeTensors.read(path)
        func section(_ prefix: String) -> [String: Tensor] {
            Dictionary(uniqueKeysWithValues: file.tensors.compactMap { k, v in k.hasPrefix(prefix) ? (String(k.dropFirst(prefix.count)), v) : nil })
        }
        let restored = Linear(4, 3, rng: RandomGenerator(seed: 99))  // different initial weights
        try restored.load(stateDict: section("model."), from: path)
        let restoredOpt = makeOptimizer(restored.parameters)
        try restoredOpt.loadState(section("optimizer."))

        train(model, opt, steps: 4, from: 3)
        train(restored, restoredOpt, steps: 4, from: 3)
        for ((name, a), (_, b)) in zip(model.stateDict(), restored.stateDict()) {
            XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern), "\(name) differs after resuming")
        }
        for ((name, a), (_, b)) in zip(opt.stateTensors(), restoredOpt.stateTensors()) {
            XCTAssertEqual(a.scalars.map(\.bitPattern), b.scalars.map(\.bitPattern), "optimizer \(name) differs after resuming")
        }
    }

    func testAdamStateRoundTripResumesBitForBit() throws {
        try assertResumesExactly { Adam(parameters: $0, learningRate: 0.01) }
        try assertResumesExactly { AdamW(parameters: $0, learningRate: 0.01, weightDecay: 0.1) }
    }

    func testSGDMomentumStateRoundTripResumesBitForBit() throws {
        try assertResumesExactly { SGD(parameters: $0, learningRate: 0.05, momentum: 0.9, weightDecay: 1e-3) }
        try assertResumesExactly { SGD(parameters: $0, learningRate: 0.05, momentum: 0.9, nesterov: true) }
    }
}
