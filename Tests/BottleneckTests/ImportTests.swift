import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// `bottleneck import` and `eval --per-sample` (issue 15): a plain PyTorch state_dict comes in
/// by module order or a rename map, every problem is listed at once, and per-sample errors are
/// the ones eval pools.
final class ImportTests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-import" }

    /// The parity fixture of the README's conv model: tensors under PyTorch's state_dict keys of
    /// the seed's ConvAutoencoder, with an input batch and PyTorch's output and MSE for it.
    lazy var fixture = try! SafeTensors.read(fixturesDirectory.appendingPathComponent("torch-parity/model_conv_autoencoder.safetensors").path)
    var torchKeys: [String] { fixture.names.filter { $0.hasPrefix("encoder.") || $0.hasPrefix("fc.") || $0.hasPrefix("decoder.") } }

    func writeStateDict(_ tensors: [(String, Tensor)], to name: String) throws {
        try SafeTensors(tensors: tensors).write(to: dir + "/" + name)
    }

    func cli(_ args: [String]) throws -> String {
        let r = try runCLI(args, in: dir)
        XCTAssertEqual(r.status, 0, "\(args): \(r.err)")
        return r.out
    }

    func testTheSeedsPyTorchConvAutoencoderComesInWithoutAMapAndGivesPyTorchsOutput() throws {
        try writeStateDict(torchKeys.map { ($0, fixture[$0]!) }, to: "torch.safetensors")
        let out = try cli(["import", "--state-dict", "torch.safetensors", "--arch", "conv", "-o", "conv.safetensors"])
        XCTAssertTrue(out.contains("412,673 parameters"), out)
        let bundle = try TrainedModel.load(dir + "/conv.safetensors")
        let y = withoutGradients { bundle.model(fixture["input"]!) }
        var worst: Float = 0
        for i in 0..<y.count { worst = Swift.max(worst, Swift.abs(y.data[i] - fixture["output"]!.data[i])) }
        XCTAssertLessThan(worst, 1e-5, "PyTorch's output")
        let mse = meanSquaredError(y, fixture["input"]!), torchLoss = Double(fixture["loss"]!.data[0])
        XCTAssertEqual(mse, torchLoss, accuracy: 1e-6 * torchLoss, "PyTorch's MSE to 1e-6 relative")
    }

    func testAFlatSequentialAndARenameMapComeIn() throws {
        let source = try Autoencoder(spec: try Preset.dense.spec(inputShape: [1, 28, 28]), inputShape: [1, 28, 28], rng: RandomGenerator(seed: 3))
        let x = randn([3, 1, 28, 28], seed: 4)
        let expected = withoutGradients { source(x) }
        // nn.Sequential(Flatten, Linear, ReLU, Linear, Sigmoid, Unflatten): keys 1.* and 3.*.
        let flat = source.stateDict().map { name, t in (name.replacingOccurrences(of: "encoder.1.", with: "1.").replacingOccurrences(of: "decoder.0.", with: "3."), t) }
        try writeStateDict(flat, to: "flat.safetensors")
        _ = try cli(["import", "--state-dict", "flat.safetensors", "--arch", "dense", "-o", "a.safetensors"])
        XCTAssertEqual(withoutGradients { try! TrainedModel.load(dir + "/a.safetensors").model(x) }.scalars, expected.scalars)

        // Names no rule knows, with a map.
        let odd = source.stateDict().map { ("net_" + $0.0.replacingOccurrences(of: ".", with: "_"), $0.1) }
        try writeStateDict(odd, to: "odd.safetensors")
        let map = Dictionary(uniqueKeysWithValues: source.stateDict().map { ("net_" + $0.0.replacingOccurrences(of: ".", with: "_"), $0.0) })
        try JSONEncoder().encode(map).write(to: URL(fileURLWithPath: dir + "/map.json"))
        _ = try cli(["import", "--state-dict", "odd.safetensors", "--arch", "dense", "--rename", "map.json", "-o", "b.safetensors"])
        XCTAssertEqual(withoutGradients { try! TrainedModel.load(dir + "/b.safetensors").model(x) }.scalars, expected.scalars)
        try expectCLIError(["import", "--state-dict", "odd.safetensors", "--arch", "dense", "--rename", "odd.safetensors", "-o", "c.safetensors"],
                           in: dir, ["odd.safetensors", "not a JSON object"])
    }

    func testAMissingAnExtraAndAMisshapedTensorAreListedInOneErrorAndNothingIsWritten() throws {
        var tensors = torchKeys.filter { $0 != "fc.0.bias" }.map { ($0, fixture[$0]!) }
        tensors = tensors.map { $0.0 == "encoder.2.weight" ? ($0.0, Tensor(shape: [32, 16, 5, 5])) : $0 }
        tensors.append(("decoder.9.weight", Tensor(shape: [4])))
        tensors.append(("encoder.0.num_batches_tracked", Tensor(shape: [])))  // PyTorch's counter: dropped, not an error
        try writeStateDict(tensors, to: "bad.safetensors")
        try expectCLIError(["import", "--state-dict", "bad.safetensors", "--arch", "conv", "-o", "m.safetensors"], in: dir,
                           ["bad.safetensors", "does not fit 'conv'", "missing encoder.5.bias", "unexpected decoder.9.weight",
                            "wrong shape encoder.2.weight [32, 16, 5, 5] (encoder.2.weight needs [32, 16, 3, 3])"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/m.safetensors"), "nothing written")
        try expectCLIError(["import", "--state-dict", "none.safetensors", "--arch", "conv", "-o", "m.safetensors"], in: dir, ["none.safetensors"])
        try expectCLIError(["import", "--state-dict", "bad.safetensors", "--arch", "nope", "-o", "m.safetensors"], in: dir, ["nope"])
    }

    func testPerSampleErrorsAverageToEvalsFigures() throws {
        try writeStateDict(torchKeys.map { ($0, fixture[$0]!) }, to: "torch.safetensors")
        _ = try cli(["import", "--state-dict", "torch.safetensors", "--arch", "conv", "-o", "conv.safetensors"])
        let bundle = try TrainedModel.load(dir + "/conv.safetensors")
        let data = try bundle.prepare(try FashionMNIST.load(.test).subset(Array(0..<300)))
        let errors = try reconstructionErrorsPerSample(bundle.model, on: data)
        let pooled = try evaluateReconstruction(bundle.model, on: data)
        XCTAssertEqual(errors.mse.count, 300)
        XCTAssertEqual(errors.mse.reduce(0, +) / 300, pooled.mse, accuracy: 1e-9 * pooled.mse)
        XCTAssertEqual(errors.l1.reduce(0, +) / 300, pooled.l1, accuracy: 1e-9 * pooled.l1)
        XCTAssertEqual(errors.bce!.reduce(0, +) / 300, pooled.bce!, accuracy: 1e-6 * pooled.bce!)

        _ = try cli(["eval", "--model", "conv.safetensors", "--per-sample", "-o", "scores.csv"])
        let rows = try String(contentsOfFile: dir + "/scores.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(rows.first, "index,label,mse,l1,bce")
        XCTAssertEqual(rows.count, 10_001)
        let eval = try cli(["eval", "--model", "conv.safetensors"])
        let mean = rows.dropFirst().map { Double($0.split(separator: ",")[2])! }.reduce(0, +) / 10_000
        XCTAssertEqual(String(format: "mse   %.6f", mean), eval.split(separator: "\n").first { $0.hasPrefix("mse") }.map(String.init))
        try expectCLIError(["eval", "--model", "conv.safetensors", "-o", "scores.csv"], in: dir, ["--per-sample"])
    }
}
