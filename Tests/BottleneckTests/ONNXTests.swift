import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
@testable import BottleneckONNX
import Bottleneck

/// `bottleneck export --format onnx` (issue 15). onnxruntime's agreement is checked by
/// scripts/onnx/parity.sh (in .ci/run when its venv can be made); these tests need no Python.
final class ONNXTests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-onnx" }

    func bundle(_ preset: Preset, shape: [Int] = [1, 28, 28], scaler: Scaler = Scaler(.none)) throws -> TrainedModel {
        let m = try Autoencoder(spec: try preset.spec(inputShape: shape), inputShape: shape, rng: RandomGenerator(seed: 1))
        m.eval()
        return TrainedModel(model: m, scaler: scaler)
    }

    func testTheFileIsDeterministicAboutTheWeightsSizeAndCarriesTheBundle() throws {
        var b = try bundle(.conv)
        b.detector = try Detector.fit(score: .mse, rule: .value(0.25), trainingScores: [])
        let bytes = try ONNXExport.export(b)
        XCTAssertEqual(bytes, try ONNXExport.export(b), "same model, same bytes")
        let weights = b.model.stateDict().reduce(0) { $0 + 4 * $1.1.count }
        XCTAssertLessThan(abs(Double(bytes.count - weights)) / Double(weights), 0.05, "within 5% of the weights")

        let m = try Onnx_ModelProto(serializedBytes: bytes)
        XCTAssertEqual(m.opsetImport.first?.version, 17)
        XCTAssertEqual(m.graph.input.map(\.name), ["input"])
        XCTAssertEqual(m.graph.output.map(\.name), ["reconstruction"])
        XCTAssertEqual(m.graph.input[0].type.tensorType.shape.dim.map(\.dimValue), [0, 1, 28, 28], "a free batch axis, then the sample")
        let meta = Dictionary(uniqueKeysWithValues: m.metadataProps.map { ($0.key, $0.value) })
        XCTAssertEqual(meta["threshold"], "0.25")
        XCTAssertEqual(meta["score"], "mse")
        XCTAssertEqual(try JSONDecoder().decode(ArchitectureSpec.self, from: Data(meta["architecture"]!.utf8)).name, "conv")
        XCTAssertEqual(m.graph.node.map(\.opType).filter { $0 == "Conv" || $0 == "ConvTranspose" }.count, 4)
    }

    func testScalingIsInsideTheGraphAndEachPartHasItsEnds() throws {
        let x = Tensor(shape: [40, 5], values: (0..<200).map { Float($0 % 17) * 3 + 1 })
        let b = try bundle(.dense, shape: [5], scaler: try Scaler.fitted(.standard, to: x))
        let full = try Onnx_ModelProto(serializedBytes: try ONNXExport.export(b, part: .full)).graph
        XCTAssertEqual(full.node.prefix(2).map(\.opType), ["Sub", "Div"], "raw inputs scaled first")
        XCTAssertEqual(full.node.suffix(3).map(\.opType), ["Mul", "Add", "Identity"], "reconstructions unscaled last")
        let shift = full.initializer.first { $0.name == "scale.shift" }!
        XCTAssertEqual(shift.dims, [5])
        let encoder = try Onnx_ModelProto(serializedBytes: try ONNXExport.export(b, part: .encoder)).graph
        XCTAssertEqual(encoder.output.map(\.name), ["code"])
        XCTAssertFalse(encoder.node.contains { $0.name.hasPrefix("decoder") })
        let decoder = try Onnx_ModelProto(serializedBytes: try ONNXExport.export(b, part: .decoder)).graph
        XCTAssertEqual(decoder.input.map(\.name), ["code"])
        XCTAssertFalse(decoder.node.contains { $0.opType == "Sub" }, "codes are not scaled")
    }

    func testAVAEExportsItsMeanAndALayerWithoutAnONNXFormIsNamed() throws {
        let spec = Variants.adapt(try Preset.dense.spec(inputShape: [1, 28, 28], codeSize: 8), to: VariantSpec(.vae()))
        let vae = try Autoencoder(spec: spec, inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0))
        let g = try Onnx_ModelProto(serializedBytes: try ONNXExport.export(TrainedModel(model: vae), part: .encoder)).graph
        XCTAssertEqual(g.node.last { $0.opType == "Slice" }?.name, "code_mean")
        XCTAssertEqual(g.output[0].type.tensorType.shape.dim.map(\.dimValue), [0, 8])

        final class Custom: Module {}
        var builder = GraphBuilder()
        XCTAssertThrowsError(try builder.layer(Custom(), "x", shape: [3], path: "encoder.4")) {
            XCTAssertTrue("\($0)".contains("encoder.4 (Custom) has no ONNX form"), "\($0)")
        }
    }

    func testBadExportFlagsGetOneLine() throws {
        try bundle(.dense).save(to: dir + "/m.safetensors")
        try expectCLIError(["export", "--model", "m.safetensors", "--format", "tflite", "-o", "m.onnx"], in: dir, ["--format", "tflite"])
        try expectCLIError(["export", "--model", "m.safetensors", "-o", "m.pb"], in: dir, [".onnx"])
        try expectCLIError(["export", "--model", "m.safetensors", "--part", "middle", "-o", "m.onnx"], in: dir, ["middle"])
        try expectCLIError(["export", "--model", "nope.safetensors", "-o", "m.onnx"], in: dir, ["nope.safetensors"])
        try expectCLIError(["export", "--model", "m.safetensors", "-o", "gone/m.onnx"], in: dir, ["-o/--output", "gone"])
        let r = try runCLI(["export", "--model", "m.safetensors", "-o", "m.onnx"], in: dir)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/m.onnx")), try ONNXExport.export(try TrainedModel.load(dir + "/m.safetensors")))
    }
}
