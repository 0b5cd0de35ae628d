import Foundation
import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// A Keras-style sweep over every layer type the factory knows: built from a `LayerSpec` on a
/// fitting input, each layer's forward shape equals its `outputShape(for:)`, its parameter count
/// its formula, a state_dict round trip through safetensors bytes reproduces its output bit for
/// bit, and train and eval mode differ exactly where they should.
final class LayerSweepTests: XCTestCase {
    enum Modes {
        /// Identical output in train and eval mode.
        case same
        /// Train mode differs from eval mode (dropout masks, batch statistics); eval is deterministic.
        case differ
    }

    struct Case {
        var spec: LayerSpec
        /// The per-sample input shape.
        var input: [Int]
        var output: [Int]
        var parameters: Int
        var modes: Modes = .same
    }

    static func n(_ v: Int) -> JSONValue { .number(Double(v)) }

    /// One or more cases per factory type; `testEveryFactoryTypeHasACase` keeps this list complete.
    static let cases: [Case] = [
        Case(spec: LayerSpec("linear", ["out": n(5)]), input: [7], output: [5], parameters: 7 * 5 + 5),
        Case(spec: LayerSpec("linear", ["out": n(5), "bias": .bool(false)]), input: [4, 7], output: [4, 5], parameters: 7 * 5),
        Case(spec: LayerSpec("conv2d", ["out": n(4), "kernel": n(3), "stride": n(2), "padding": n(1)]), input: [2, 7, 7],
             output: [4, 4, 4], parameters: 4 * 2 * 3 * 3 + 4),
        Case(spec: LayerSpec("conv2d", ["out": n(3), "kernel": .array([n(3), n(1)]), "padding": .string("same"), "dilation": n(2), "bias": .bool(false)]),
             input: [2, 6, 5], output: [3, 6, 5], parameters: 3 * 2 * 3 * 1),
        Case(spec: LayerSpec("conv_transpose2d", ["out": n(3), "kernel": n(3), "stride": n(2), "padding": n(1), "output_padding": n(1)]),
             input: [2, 4, 4], output: [3, 8, 8], parameters: 2 * 3 * 3 * 3 + 3),
        Case(spec: LayerSpec("maxpool2d", ["kernel": n(2)]), input: [2, 6, 6], output: [2, 3, 3], parameters: 0),
        Case(spec: LayerSpec("avgpool2d", ["kernel": n(3), "stride": n(2), "padding": n(1)]), input: [2, 6, 6], output: [2, 3, 3], parameters: 0),
        Case(spec: LayerSpec("upsample", ["mode": .string("nearest")]), input: [2, 3, 3], output: [2, 6, 6], parameters: 0),
        Case(spec: LayerSpec("upsample", ["mode": .string("bilinear"), "scale": n(3)]), input: [1, 2, 3], output: [1, 6, 9], parameters: 0),
        Case(spec: LayerSpec("batchnorm1d"), input: [5], output: [5], parameters: 2 * 5, modes: .differ),
        Case(spec: LayerSpec("batchnorm1d"), input: [3, 4], output: [3, 4], parameters: 2 * 3, modes: .differ),
        Case(spec: LayerSpec("batchnorm2d"), input: [3, 4, 4], output: [3, 4, 4], parameters: 2 * 3, modes: .differ),
        Case(spec: LayerSpec("dropout", ["p": .number(0.5)]), input: [20], output: [20], parameters: 0, modes: .differ),
        // Gates i, f, g, o: weight_ih [4h, in], weight_hh [4h, h] and two biases [4h], as PyTorch.
        Case(spec: LayerSpec("lstm", ["hidden": n(4)]), input: [5, 3], output: [5, 4], parameters: 4 * 4 * 3 + 4 * 4 * 4 + 2 * 4 * 4),
        Case(spec: LayerSpec("repeat", ["steps": n(3)]), input: [4], output: [3, 4], parameters: 0),
        Case(spec: LayerSpec("last_step"), input: [5, 3], output: [3], parameters: 0),
        Case(spec: LayerSpec("flatten"), input: [2, 3, 3], output: [18], parameters: 0),
        Case(spec: LayerSpec("unflatten", ["shape": .array([n(2), n(9)])]), input: [18], output: [2, 9], parameters: 0),
        Case(spec: LayerSpec("relu"), input: [2, 3, 3], output: [2, 3, 3], parameters: 0),
        Case(spec: LayerSpec("leaky_relu", ["slope": .number(0.2)]), input: [2, 3, 3], output: [2, 3, 3], parameters: 0),
        Case(spec: LayerSpec("sigmoid"), input: [6], output: [6], parameters: 0),
        Case(spec: LayerSpec("tanh"), input: [6], output: [6], parameters: 0),
        Case(spec: LayerSpec("softplus"), input: [6], output: [6], parameters: 0),
        Case(spec: LayerSpec("gelu"), input: [6], output: [6], parameters: 0),
        Case(spec: LayerSpec("identity"), input: [2, 3], output: [2, 3], parameters: 0),
        // conv1 and conv2 3x3 without bias, BatchNorm weight and bias each; a 1x1 conv + BatchNorm
        // shortcut when the shape changes.
        Case(spec: LayerSpec("residual", ["out": n(4), "stride": n(2)]), input: [2, 6, 6], output: [4, 3, 3],
             parameters: 4 * 2 * 9 + 2 * 4 + 4 * 4 * 9 + 2 * 4 + 4 * 2 + 2 * 4, modes: .differ),
        Case(spec: LayerSpec("residual"), input: [3, 4, 4], output: [3, 4, 4], parameters: 3 * 3 * 9 + 2 * 3 + 3 * 3 * 9 + 2 * 3, modes: .differ),
    ]

    func testEveryFactoryTypeHasACase() {
        let covered = Set(Self.cases.map { $0.spec.type })
        for type in LayerFactory.typeNames {
            XCTAssertTrue(covered.contains(type), "layer type '\(type)' has no case in LayerSweepTests.cases")
        }
        for type in covered { XCTAssertTrue(LayerFactory.typeNames.contains(type), "case for unknown layer type '\(type)'") }
    }

    func build(_ c: Case, seed: UInt64) throws -> (Module, [Int]) {
        let (sequential, shape) = try LayerFactory.sequential([c.spec], inputShape: c.input, rng: RandomGenerator(seed: seed), part: "sweep")
        XCTAssertEqual(sequential.layers.count, 1)
        return (sequential.layers[0], shape)
    }

    func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

    func testShapesAndParameterCounts() throws {
        for c in Self.cases {
            let name = "\(c.spec.type) on \(formatShape(c.input))"
            let (layer, inferred) = try build(c, seed: 1)
            XCTAssertEqual(inferred, c.output, name)
            XCTAssertEqual(try layer.outputShape(for: c.input), c.output, name)
            XCTAssertEqual(layer.parameterCount, c.parameters, name)
            XCTAssertEqual(layer.parameters.allSatisfy(\.requiresGrad), true, "\(name): parameters are trainable")
            for mode in [true, false] {
                layer.train(mode)
                let y = withoutGradients { layer(Tensor.normal([3] + c.input, rng: RandomGenerator(seed: 2))) }
                XCTAssertEqual(y.shape, [3] + c.output, "\(name), training \(mode)")
            }
        }
    }

    func testStateDictRoundTripThroughSafeTensorsBytes() throws {
        for c in Self.cases {
            let name = "\(c.spec.type) on \(formatShape(c.input))"
            let (layer, _) = try build(c, seed: 1)
            // Values unlike any initialisation, buffers (running statistics) included.
            let fill = RandomGenerator(seed: 9)
            for (_, t) in layer.stateDict() { t.assign(Tensor.uniform(t.shape, low: 0.5, high: 1.5, rng: fill)) }
            layer.eval()
            let x = Tensor.normal([3] + c.input, rng: RandomGenerator(seed: 4))
            let expected = withoutGradients { layer(x) }
            let bytes = try SafeTensors(tensors: layer.stateDict()).encoded()
            let decoded = try SafeTensors.decode(bytes, source: "sweep")
            XCTAssertEqual(decoded.names, layer.stateDict().map(\.0), name)
            let (fresh, _) = try build(c, seed: 77)
            fresh.eval()
            if !layer.stateDict().isEmpty {
                XCTAssertNotEqual(bits(withoutGradients { fresh(x) }), bits(expected), "\(name): a fresh layer differs before loading")
            }
            try fresh.load(stateDict: decoded.tensors, from: "sweep")
            XCTAssertEqual(bits(withoutGradients { fresh(x) }), bits(expected), "\(name): output after the round trip")
            for ((n1, a), (n2, b)) in zip(layer.stateDict(), fresh.stateDict()) {
                XCTAssertEqual(n1, n2, name)
                XCTAssertEqual(bits(a), bits(b), "\(name): \(n1)")
            }
        }
    }

    func testTrainAndEvalModes() throws {
        for c in Self.cases {
            let name = "\(c.spec.type) on \(formatShape(c.input))"
            let (layer, _) = try build(c, seed: 1)
            let x = Tensor.normal([3] + c.input, rng: RandomGenerator(seed: 5))
            layer.eval()
            let first = bits(withoutGradients { layer(x) }), second = bits(withoutGradients { layer(x) })
            XCTAssertEqual(first, second, "\(name): eval mode is deterministic")
            layer.train()
            let training = bits(withoutGradients { layer(x) })
            switch c.modes {
            case .same: XCTAssertEqual(training, first, "\(name): train and eval mode agree")
            case .differ: XCTAssertNotEqual(training, first, "\(name): train mode differs from eval mode")
            }
            XCTAssertTrue(layer.isTraining, name)
            layer.eval()
            XCTAssertFalse(layer.namedModules().contains { $0.1.isTraining }, "\(name): eval reaches every sub-module")
        }
    }
}
