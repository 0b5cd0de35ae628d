import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// Image restoration: SSIM, denoising, inpainting, colorisation and watermark removal, each
/// measured against a plain baseline after a short run.
final class RestorationTests: XCTestCase {
    func report(_ s: String) { print("[restoration] " + s) }

    // MARK: SSIM

    func testSSIMOfIdenticalImagesIsOne() throws {
        let a = Tensor.uniform([2, 3, 16, 20], rng: RandomGenerator(seed: 3))
        XCTAssertEqual(try ssim(a, a), 1, accuracy: 1e-12)
    }

    /// Constant images c1 and c2 have no variance: SSIM = (2 c1 c2 + C1) / (c1^2 + c2^2 + C1).
    func testSSIMOfConstantImagesMatchesClosedForm() throws {
        let (c1, c2) = (0.2, 0.7), k1 = 0.0001
        let expected = (2 * c1 * c2 + k1) / (c1 * c1 + c2 * c2 + k1)
        XCTAssertEqual(try ssim(Tensor.full([1, 1, 12, 12], Float(c1)), Tensor.full([1, 1, 12, 12], Float(c2))), expected, accuracy: 1e-6)
    }

    /// A reference computed with the direct (non-separable) definition in NumPy, in float64:
    /// a = (sin(0.7x) + cos(0.3y) + 2) / 4, b = clip(a + 0.1 sin(0.37xy) - 0.05 cos(1.3x + 0.4y), 0, 1)
    /// on a 20x24 grid, both rounded to float32 first; 11x11 window, sigma 1.5, valid region.
    func testSSIMMatchesDirectReference() throws {
        let (h, w) = (20, 24)
        let a = Tensor(shape: [h, w]), b = Tensor(shape: [h, w])
        for y in 0..<h { for x in 0..<w {
            let (fx, fy) = (Double(x), Double(y))
            let va = (sin(0.7 * fx) + cos(0.3 * fy) + 2) / 4
            a.data[y * w + x] = Float(va)
            b.data[y * w + x] = Float(min(1, max(0, va + 0.1 * sin(fx * fy * 0.37) - 0.05 * cos(1.3 * fx + 0.4 * fy))))
        } }
        XCTAssertEqual(try ssim(a, b), 0.9030274871703174, accuracy: 1e-6)
    }

    func testSSIMIsSymmetricAndFallsWithNoise() throws {
        let clean = Tensor.uniform([4, 1, 28, 28], rng: RandomGenerator(seed: 5))
        let smoothed = withoutGradients { (clean + clean.permuted([0, 1, 3, 2])) * 0.5 }
        let light = NoiseModel.gaussian(sigma: 0.05).apply(smoothed, rng: RandomGenerator(seed: 1))
        let heavy = NoiseModel.gaussian(sigma: 0.3).apply(smoothed, rng: RandomGenerator(seed: 1))
        XCTAssertEqual(try ssim(smoothed, light), try ssim(light, smoothed), accuracy: 1e-12)
        let (sl, sh) = (try ssim(smoothed, light), try ssim(smoothed, heavy))
        XCTAssertLessThan(sh, sl)
        XCTAssertLessThan(sl, 1)
        let seven = try SSIM(window: 7).mean(smoothed, heavy)
        XCTAssertLessThan(seven, 1)
    }

    func testSSIMRejectsTooSmallImagesAndEvenWindows() {
        XCTAssertThrowsError(try ssim(Tensor.zeros([1, 1, 8, 8]), Tensor.zeros([1, 1, 8, 8]))) { e in
            XCTAssertTrue("\(e)".contains("8x8") && "\(e)".contains("11x11"), "\(e)")
        }
        XCTAssertThrowsError(try SSIM(window: 8))
    }

    // MARK: Denoising

    /// One epoch of the conv preset on Gaussian noise sigma 0.3 (clipped to [0, 1]); PSNR over all
    /// test pixels. PyTorch's reference run reaches 17.27 dB; the noisy inputs are at 12.78 dB.
    func testDenoisingOneEpochReachesReference() throws {
        let variant = VariantSpec(.denoising(noise: .gaussian(sigma: 0.3)))
        let (model, _, _) = try trainVariant(try Preset.conv.spec(inputShape: [1, 28, 28]), variant: variant, epochs: 1)
        let (noisy, clean) = Benchmark.noisyTestSet(FMNIST.test, sigma: 0.3, seed: 1234)
        let denoised = try Restoration.apply(model, to: noisy.inputs)
        var scorer = RestorationScorer()
        try scorer.add(degraded: noisy.inputs, restored: denoised, clean: clean.inputs, isImage: true)
        let s = scorer.score
        report(String(format: "denoising 1 epoch: PSNR noisy %.2f -> denoised %.2f dB; SSIM %.4f -> %.4f", s.psnrInput, s.psnrOutput, s.ssimInput!, s.ssimOutput!))
        XCTAssertEqual(s.psnrInput, 12.78, accuracy: 0.05)
        XCTAssertGreaterThanOrEqual(s.psnrOutput, 16.97)
        XCTAssertGreaterThan(s.ssimOutput!, s.ssimInput!)
    }

    // MARK: Inpainting

    func testInpaintingBeatsLocalMeanInsideTheHole() throws {
        let variant = VariantSpec(.denoising(noise: .occlusion(minSide: 0.2, maxSide: 0.5)))
        let train = FMNIST.train.subset(Array(0..<20000))
        let (model, _, _) = try trainVariant(try Preset.conv.spec(inputShape: [1, 28, 28]), variant: variant, epochs: 1, train: train)
        let clean = FMNIST.test.inputs.rows(0, 1000)
        let masks = HoleMask.randomRectangles(count: 1000, width: 28, height: 28, minSide: 0.2, maxSide: 0.5, rng: RandomGenerator(seed: 99))
        let (score, filled) = try InpaintingScore.measure(model, clean: clean, masks: masks)
        report(String(format: "inpainting (20k samples, 1 pass): hole PSNR model %.2f dB, local mean %.2f dB, diffusion %.2f dB",
                      score.psnrModel, score.psnrLocalMean, score.psnrDiffusion))
        XCTAssertGreaterThan(score.psnrModel, score.psnrLocalMean)
        // Known pixels are kept exactly.
        for (j, gone) in masks[0].missing.enumerated() where !gone { XCTAssertEqual(filled.data[j], clean.data[j]) }
    }

    func testMasksAndFills() throws {
        let m = try HoleMask.rectangle(parsing: "1,2,3,2", imageWidth: 6, imageHeight: 5)
        XCTAssertEqual(m.missingCount, 6)
        XCTAssertTrue(m.missing[2 * 6 + 1] && m.missing[3 * 6 + 3] && !m.missing[4 * 6 + 1])
        // A ramp: the diffusion fill of a linear function is exact; the local mean is not.
        let img = Tensor(shape: [1, 1, 5, 6])
        for y in 0..<5 { for x in 0..<6 { img.data[y * 6 + x] = Float(x) * 0.1 } }
        let d = try Inpainting.diffusionFill(img, masks: [m])
        assertClose(d, img, tol: 1e-4, "diffusion fill of a ramp")
        let l = try Inpainting.localMeanFill(img, masks: [m])
        XCTAssertEqual(l.data[2 * 6 + 2], 0.2, accuracy: 1e-6)  // border pixels x = 0..4: mean 0.2
        XCTAssertEqual(try Inpainting.masked(img, [m]).data[2 * 6 + 3], 0)
    }

    func testBadMasksGiveOneLineErrors() throws {
        let dir = NSTemporaryDirectory() + "bn-restore-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/mask.png"
        try Image(width: 30, height: 20, channels: 1, pixels: [UInt8](repeating: 255, count: 600)).writePNG(to: path)
        XCTAssertThrowsError(try HoleMask.read(path, imageWidth: 28, imageHeight: 28)) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("30x20") && text.contains("28x28") && text.contains("mask.png"), text)
            XCTAssertFalse(text.contains("\n"))
        }
        XCTAssertThrowsError(try HoleMask.rectangle(parsing: "20,20,10,10", imageWidth: 28, imageHeight: 28)) { e in
            XCTAssertTrue("\(e)".contains("outside the 28x28 image"), "\(e)")
        }
        XCTAssertThrowsError(try HoleMask.rectangle(parsing: "1,2,3", imageWidth: 28, imageHeight: 28))
        XCTAssertThrowsError(try HoleMask.rectangle(parsing: "-1,2,3,3", imageWidth: 28, imageHeight: 28))
    }

    // MARK: Colorization

    func photoPatches(_ part: Patches.Part, stride: Int) throws -> Tensor {
        let (images, _) = try Patches.loadImages(fixturesDirectory.appendingPathComponent("photos").path, channels: 3, downscale: 2)
        return try Patches.cut(images, size: 32, stride: stride, part: part)
    }

    func testColorizationBeatsGrayCopyOnHeldOutPatches() throws {
        let train = Dataset(inputs: try photoPatches(.train, stride: 8), source: "photos")
        let test = try photoPatches(.test, stride: 16)
        let (model, objective, _) = try trainVariant(try Preset.conv.spec(inputShape: [3, 32, 32]), variant: VariantSpec(.colorize()),
                                                     epochs: 4, train: train)
        XCTAssertTrue(objective is PairedObjective)
        let gray = Colorization.grayInput(test)
        let coloured = try Colorization.colorize(model, gray: gray, keepLuma: Colorization.keepsLuma(model))
        let (pg, pc) = (psnr(gray, test), psnr(coloured, test))
        report(String(format: "colorization (%d train / %d test patches, 4 epochs): PSNR gray copy %.2f dB, coloured %.2f dB", train.count, test.shape[0], pg, pc))
        XCTAssertGreaterThan(pc, pg)
    }

    func testKeepingLumaGradientAndValue() throws {
        let p = Tensor.uniform([2, 3, 4, 5], rng: RandomGenerator(seed: 1)), x = Tensor.uniform([2, 3, 4, 5], rng: RandomGenerator(seed: 2))
        let k = Colorization.keepingLuma(p, input: x)
        assertClose(Colorization.luma(k), Colorization.luma(x), tol: 1e-5, "luma")
        gradCheck([p.detached()]) { Colorization.keepingLuma($0[0], input: x) }
    }

    func testGrayscaleModelUsedForColourInputIsAnError() throws {
        let gray = try Autoencoder(spec: try Preset.conv.spec(inputShape: [1, 28, 28]), inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0))
        XCTAssertThrowsError(try Colorization.colorize(gray, gray: Tensor.zeros([2, 1, 28, 28]), keepLuma: true)) { e in
            XCTAssertTrue("\(e)".contains("[1, 28, 28]") && "\(e)".contains("colour"), "\(e)")
        }
        XCTAssertThrowsError(try Variants.objective(VariantSpec(.colorize()), model: gray, loss: .mse, rng: RandomGenerator(seed: 0))) { e in
            XCTAssertTrue("\(e)".contains("in colour"), "\(e)")
            XCTAssertEqual((e as? BottleneckError)?.field, .variant)
        }
        XCTAssertThrowsError(try Restoration.applyTiled(gray, to: Tensor.zeros([3, 40, 40]))) { e in
            XCTAssertTrue("\(e)".contains("3 channel"), "\(e)")
        }
    }

    func testPatchesKeepTestColumnsApart() throws {
        let img = Tensor(shape: [1, 8, 16])
        for i in 0..<img.count { img.data[i] = Float(i % 16) }  // value = column
        let train = try Patches.cut([img], size: 4, stride: 4, part: .train, testFraction: 0.25)
        let test = try Patches.cut([img], size: 4, stride: 4, part: .test, testFraction: 0.25)
        XCTAssertEqual(train.shape, [6, 1, 4, 4])  // columns 0..<12: 3 x 2 patches
        XCTAssertEqual(test.shape, [2, 1, 4, 4])   // columns 12..<16
        XCTAssertLessThan(train.maxValue, 12)
        XCTAssertGreaterThanOrEqual(test.minValue, 12)
    }

    /// Tiles: pixels that only the first tile covers equal the model's output on that tile.
    func testTiledRestorationMatchesSingleTile() throws {
        let model = try Autoencoder(spec: try Preset.conv.spec(inputShape: [1, 28, 28]), inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0))
        let image = Tensor.uniform([1, 40, 40], rng: RandomGenerator(seed: 4))
        let tiled = try Restoration.applyTiled(model, to: image)
        let corner = image.reshaped([1, 1, 40, 40]).narrow(axis: 2, start: 0, length: 28).narrow(axis: 3, start: 0, length: 28).copy()
        let direct = try Restoration.apply(model, to: corner)
        for y in 0..<12 { for x in 0..<12 { XCTAssertEqual(tiled.data[y * 40 + x], direct.data[y * 28 + x], accuracy: 1e-6) } }
        XCTAssertEqual(Restoration.tileStarts(40, 28), [0, 12])
        XCTAssertEqual(Restoration.tileStarts(28, 28), [0])
    }

    // MARK: Watermarks

    func testWatermarkDrawing() throws {
        let stamp = try BitmapFont.render("SAMPLE")
        XCTAssertEqual(stamp.width, 35)
        XCTAssertEqual(stamp.height, 7)
        XCTAssertEqual(try BitmapFont.render("ab", scale: 2).width, 22)
        XCTAssertThrowsError(try BitmapFont.render("é")) { e in XCTAssertTrue("\(e)".contains("5x7 font"), "\(e)") }
        let clean = Tensor.full([3, 1, 28, 28], 0.2)
        let marked = try Watermark(text: "HI", opacity: 0.5...0.5).apply(clean, rng: RandomGenerator(seed: 1))
        let inked = (0..<marked.count).filter { marked.data[$0] != 0.2 }
        XCTAssertEqual(inked.count, 3 * (try BitmapFont.render("HI")).ink.filter { $0 }.count)
        for i in inked { XCTAssertEqual(marked.data[i], 0.6, accuracy: 1e-6) }  // 0.5 * 0.2 + 0.5 * 1
        XCTAssertEqual(try Watermark.opacity(parsing: "0.3-0.7"), 0.3...0.7)
        XCTAssertThrowsError(try Watermark.opacity(parsing: "0.7-0.3"))
        XCTAssertThrowsError(try Watermark.opacity(parsing: "2"))
    }

    func testUnwatermarkRaisesPSNR() throws {
        let variant = VariantSpec(.unwatermark(WatermarkSettings(text: "SAMPLE", opacity: 0.3...0.7)))
        // The conv preset's dense bottleneck blurs more than the watermark damages (measured: -0.8 dB
        // after one epoch); a small fully convolutional model keeps the detail.
        let train = FMNIST.train.subset(Array(0..<20000))
        let (model, _, _) = try trainVariant(Restoration.fullyConvolutionalSpec(channels: 1, width: 16), variant: variant, epochs: 1, train: train)
        let clean = FMNIST.test.inputs.rows(0, 1000).copy()
        let marked = try Variants.watermark(variant).apply(clean, rng: RandomGenerator(seed: 7))
        let restored = try Restoration.apply(model, to: marked)
        var scorer = RestorationScorer()
        try scorer.add(degraded: marked, restored: restored, clean: clean, isImage: true)
        let s = scorer.score
        report(String(format: "unwatermark (restore-conv width 16, 20k samples): PSNR marked %.2f -> restored %.2f dB; SSIM %.4f -> %.4f", s.psnrInput, s.psnrOutput, s.ssimInput!, s.ssimOutput!))
        XCTAssertGreaterThan(s.psnrOutput, s.psnrInput + 1)
    }

    // MARK: Command line

    /// The CLI gives one line naming both sizes for a mask of the wrong size, and refuses colour
    /// images for a grayscale model.
    func testCommandLineErrors() throws {
        let dir = NSTemporaryDirectory() + "bn-restore-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spec = try Preset.conv.spec(inputShape: [1, 28, 28])
        let model = try Autoencoder(spec: spec, inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0))
        try TrainedModel(model: model, scaler: .fixedRange(min: 0, max: 1)).save(to: dir + "/m.safetensors")
        try Image(width: 32, height: 30, channels: 1, pixels: [UInt8](repeating: 255, count: 960)).writePNG(to: dir + "/mask.png")
        try Image(width: 28, height: 28, channels: 3, pixels: [UInt8](repeating: 90, count: 28 * 28 * 3)).writePNG(to: dir + "/colour.png")
        let cases: [([String], [String])] = [
            (["inpaint", "--model", "m.safetensors", "--mask", "mask.png", "--output", "o.png"], ["32x30", "28x28"]),
            (["inpaint", "--model", "m.safetensors", "--rect", "20,20,10,10", "--output", "o.png"], ["outside the 28x28 image"]),
            (["denoise", "--model", "m.safetensors", "--data", "colour.png", "--output", "o.png"], ["colour.png", "grayscale"]),
            (["colorize", "--model", "m.safetensors", "--data", "colour.png", "--output", "o.png"], ["[1, 28, 28]", "colour"]),
        ]
        for (args, fragments) in cases {
            let (status, err) = try runCLI(args, in: dir)
            XCTAssertNotEqual(status, 0, "\(args)")
            XCTAssertEqual(err.split(separator: "\n").filter { !$0.isEmpty }.count, 1, "one line: \(err)")
            for f in fragments { XCTAssertTrue(err.contains(f), "'\(f)' not in: \(err)") }
        }
    }

    func runCLI(_ args: [String], in dir: String) throws -> (Int32, String) {
        let r = try BottleneckTests.runCLI(args, in: dir)
        return (r.status, r.err)
    }
}
