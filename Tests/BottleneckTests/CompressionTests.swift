import Foundation
import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

final class CompressionTests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-compress" }

    /// Encodes `symbols` with one adaptive model per context (symbol i uses context i % contexts), decodes them back.
    func roundTrip(_ symbols: [Int], alphabet: Int, contexts: Int = 1) throws -> [UInt8] {
        var models = [AdaptiveFrequencyModel](repeating: AdaptiveFrequencyModel(size: alphabet), count: contexts)
        var encoder = ArithmeticEncoder()
        for (i, s) in symbols.enumerated() { encoder.encode(s, model: &models[i % contexts]) }
        let bytes = encoder.finish()
        var back = [AdaptiveFrequencyModel](repeating: AdaptiveFrequencyModel(size: alphabet), count: contexts)
        var decoder = ArithmeticDecoder(bytes)
        let decoded = try (0..<symbols.count).map { i in try decoder.decode(model: &back[i % contexts]) }
        XCTAssertEqual(decoded, symbols, "alphabet \(alphabet), \(symbols.count) symbols")
        return bytes
    }

    func entropyBits(_ symbols: [Int], alphabet: Int) -> Double {
        var counts = [Int](repeating: 0, count: alphabet)
        for s in symbols { counts[s] += 1 }
        let n = Double(symbols.count)
        return counts.filter { $0 > 0 }.reduce(0.0) { $0 - Double($1) * log2(Double($1) / n) }
    }

    func testArithmeticCoderRoundTripUniform() throws {
        let rng = RandomGenerator(seed: 1)
        for alphabet in [2, 3, 17, 256] {
            let symbols = (0..<20_000).map { _ in rng.int(below: alphabet) }
            let bytes = try roundTrip(symbols, alphabet: alphabet)
            // Incompressible: close to log2(alphabet) bits per symbol, never much more.
            XCTAssertLessThan(Double(8 * bytes.count), 1.01 * Double(symbols.count) * log2(Double(alphabet)) + 64, "alphabet \(alphabet)")
        }
    }

    func testArithmeticCoderRoundTripSkewed() throws {
        let rng = RandomGenerator(seed: 2)
        // Geometric: P(s) ~ 0.3^s, and a stream that is almost all one symbol.
        let geometric = (0..<50_000).map { _ -> Int in var s = 0; while s < 15 && rng.uniform() < 0.3 { s += 1 }; return s }
        let bytes = try roundTrip(geometric, alphabet: 16)
        let h = entropyBits(geometric, alphabet: 16)
        XCTAssertLessThan(Double(8 * bytes.count), 1.02 * h + 64, "within 2% of the empirical entropy (\(h / 8) bytes)")
        let nearlyConstant = (0..<100_000).map { _ in rng.uniform() < 0.001 ? 1 : 0 }
        let b2 = try roundTrip(nearlyConstant, alphabet: 2)
        XCTAssertLessThan(b2.count, 300, "about 0.011 bits per symbol")
        // Interleaved contexts with different distributions, as code dimensions are coded.
        let mixed = (0..<30_000).map { i -> Int in i % 3 == 0 ? rng.int(below: 64) : (i % 3 == 1 ? 0 : 63 - min(63, Int(-log(Double(1 - rng.uniform())) * 2))) }
        _ = try roundTrip(mixed, alphabet: 64, contexts: 3)
    }

    func testArithmeticCoderEdgeCases() throws {
        XCTAssertEqual(try roundTrip([], alphabet: 4).count, 1)
        _ = try roundTrip([0, 0, 0], alphabet: 1)
        _ = try roundTrip([3], alphabet: 4)
        _ = try roundTrip(Array(repeating: 4095, count: 1000), alphabet: 4096)
        // Garbage never traps: it decodes to something or throws.
        let rng = RandomGenerator(seed: 3)
        for _ in 0..<20 {
            var decoder = ArithmeticDecoder((0..<32).map { _ in UInt8(rng.int(below: 256)) })
            var model = AdaptiveFrequencyModel(size: 7)
            for _ in 0..<100 { _ = try? decoder.decode(model: &model) }
        }
    }

    func testQuantizerErrorIsHalfAStepAtMost() throws {
        let codes = Tensor.normal([200, 6], rng: RandomGenerator(seed: 4))
        for i in 0..<200 { codes.data[i * 6 + 5] = 2.5 }  // a constant dimension
        for bits in [1, 3, 8] {
            let q = try UniformQuantizer.fitted(to: codes, bits: bits)
            let back = q.dequantize(q.quantize(codes), count: 200)
            for i in 0..<codes.count {
                let j = i % 6
                XCTAssertLessThanOrEqual(abs(back.data[i] - codes.data[i]), q.step(j) / 2 * 1.0001 + 1e-6, "bits \(bits)")
            }
            XCTAssertEqual(back.data[5], 2.5)
        }
        XCTAssertThrowsError(try UniformQuantizer.fitted(to: codes, bits: 9)) { e in XCTAssertEqual((e as? BottleneckError)?.field, .bits, "\(e)") }
        XCTAssertThrowsError(try UniformQuantizer.fitted(to: codes, bits: 0))
    }

    func smallModel(seed: UInt64) throws -> Autoencoder {
        try Autoencoder(spec: try Preset.dense.spec(inputShape: [1, 8, 8], codeSize: 6), inputShape: [1, 8, 8], rng: RandomGenerator(seed: seed))
    }

    /// Compress, write, read, decompress: exactly the decoder's output for the quantised codes.
    func testRoundTripGivesTheQuantisedReconstructionExactly() throws {
        let model = try smallModel(seed: 1)
        let codec = try AutoencoderCodec(model: model, scaler: Scaler.fixedRange(min: 0, max: 255))
        let samples = Tensor.uniform([300, 1, 8, 8], low: 0, high: 255, rng: RandomGenerator(seed: 5))
        for bits in [2, 5, 8] {
            let file = try codec.compress(samples, bits: bits)
            let path = dir + "/x\(bits).bnz"
            try writeAtomically(try file.encoded(), to: path)
            let back = try CompressedCodes.read(path)
            XCTAssertEqual(back, file)
            let rebuilt = try codec.decompress(back, source: path)
            // The same thing computed directly: encode, quantise, dequantise, decode, unscale.
            let codes = withoutGradients { model.encode(try! codec.scaler.transform(samples)) }
            let q = try UniformQuantizer.fitted(to: codes, bits: bits)
            XCTAssertEqual(try back.symbols(), q.quantize(codes))
            let expected = try codec.scaler.inverseTransform(withoutGradients { model.decode(q.dequantize(q.quantize(codes), count: 300)) })
            XCTAssertEqual(rebuilt.shape, [300, 1, 8, 8])
            XCTAssertEqual(rebuilt.scalars, expected.scalars, "bit-exact at \(bits) bits")
        }
    }

    func testCorruptTruncatedAndForeignFilesAreRefused() throws {
        let model = try smallModel(seed: 1)
        let codec = try AutoencoderCodec(model: model, scaler: Scaler())
        let bytes = [UInt8](try codec.compress(Tensor.uniform([50, 1, 8, 8], rng: RandomGenerator(seed: 6)), bits: 4).encoded())
        func expect(_ data: [UInt8], _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try CompressedCodes.decode(Data(data), source: "x.bnz"), line: line) { e in
                XCTAssertTrue(e is BottleneckError, line: line)
                XCTAssertTrue("\(e)".hasPrefix("x.bnz: ") && "\(e)".contains(fragment), "\(e)", line: line)
                XCTAssertFalse("\(e)".contains("\n"), line: line)
            }
        }
        expect(Array(bytes.dropLast(10)), "truncated: the header announces")
        expect(Array(bytes.prefix(30)), "truncated: the file ends inside its header")
        expect(Array(bytes.prefix(3)), "not a Bottleneck compressed file")
        expect(Array(bytes) + [0], "unexpected bytes")
        var flipped = bytes
        flipped[bytes.count - 20] ^= 0x10
        expect(flipped, "checksum mismatch")
        var header = bytes
        header[50] ^= 1   // inside the quantiser's ranges
        expect(header, "checksum mismatch")
        var version = bytes
        version[4] = 9
        expect(version, "format version 9")
        expect(Array("PNG!".utf8) + bytes, "not a Bottleneck compressed file")
        // A file from another model (another seed: other weights, other hash).
        let other = try AutoencoderCodec(model: try smallModel(seed: 2), scaler: Scaler())
        XCTAssertThrowsError(try other.decompress(try CompressedCodes.decode(Data(bytes), source: "x.bnz"), source: "x.bnz")) { e in
            XCTAssertTrue("\(e)".contains("x.bnz: was compressed with another model"), "\(e)")
        }
    }

    func testCompressAndDecompressCommands() throws {
        try writeDenseModel(dir + "/a.safetensors", seed: 1)
        try writeDenseModel(dir + "/b.safetensors", seed: 2)
        let c = try runBottleneck(["compress", "--model", "a.safetensors", "--limit", "20", "--bits", "5", "-o", "x.bnz"], in: dir)
        XCTAssertEqual(c.status, 0, c.err)
        XCTAssertTrue(c.out.contains("20 images") && c.out.contains("bits per pixel") && c.out.contains("PSNR"), c.out)
        let d = try runBottleneck(["decompress", "--model", "a.safetensors", "--input", "x.bnz", "-o", "out/"], in: dir)
        XCTAssertEqual(d.status, 0, d.err)
        XCTAssertEqual(try Image.read(dir + "/out/000019.png").width, 28)
        let rows = try runBottleneck(["decompress", "--model", "a.safetensors", "--input", "x.bnz", "-o", "rows.npy"], in: dir)
        XCTAssertEqual(rows.status, 0, rows.err)
        XCTAssertEqual(try NPYArray.read(dir + "/rows.npy").shape, [20, 784])
        try expectOneLineError(["decompress", "--model", "b.safetensors", "--input", "x.bnz", "-o", "y.png"], in: dir, ["x.bnz", "another model"])
        let bytes = FileManager.default.contents(atPath: dir + "/x.bnz")!
        FileManager.default.createFile(atPath: dir + "/cut.bnz", contents: bytes.prefix(bytes.count - 7))
        try expectOneLineError(["decompress", "--model", "a.safetensors", "--input", "cut.bnz", "-o", "y.png"], in: dir, ["cut.bnz", "truncated"])
        var damaged = bytes
        damaged[damaged.count / 2] ^= 0xFF
        FileManager.default.createFile(atPath: dir + "/bad.bnz", contents: damaged)
        try expectOneLineError(["decompress", "--model", "a.safetensors", "--input", "bad.bnz", "-o", "y.png"], in: dir, ["bad.bnz", "checksum"])
        try expectOneLineError(["decompress", "--model", "a.safetensors", "--input", "a.safetensors", "-o", "y.png"], in: dir, ["not a Bottleneck compressed file"])
        try expectOneLineError(["compress", "--model", "a.safetensors", "--limit", "5", "--bits", "12"], in: dir, ["--bits must be in 1...8"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/y.png"))
    }

    /// On Fashion-MNIST test images with the small conv model: more bits cost more and give a higher
    /// PSNR, 8 bits come close to the unquantised codes; baselines and the plot are well formed.
    func testRateDistortionOnFashionMNIST() throws {
        let codec = try AutoencoderCodec(model: SmallConvModel.model, scaler: SmallConvModel.scaler)
        let images = SmallConvModel.test.inputs.rows(0, 500).copy()
        var points: [RatePoint] = []
        for bits in [2, 4, 8] {
            let f = try codec.compress(images, bits: bits)
            let rebuilt = try codec.decompress(f, source: "mem")
            points.append(RatePoint(method: "autoencoder", setting: "\(bits) bits", bytes: try f.encoded().count,
                                    bitsPerPixel: 8 * Double(try f.encoded().count) / Double(500 * 784), psnr: psnr(mse: meanSquaredError(rebuilt, images))))
        }
        let unquantised = psnr(mse: meanSquaredError(withoutGradients { SmallConvModel.model(images) }, images))
        XCTAssertLessThan(points[0].bytes, points[1].bytes)
        XCTAssertLessThan(points[1].bytes, points[2].bytes)
        XCTAssertLessThan(points[0].psnr, points[1].psnr)
        XCTAssertLessThan(points[1].psnr, points[2].psnr)
        XCTAssertEqual(points[2].psnr, unquantised, accuracy: 0.3)
        XCTAssertLessThan(points[2].bitsPerPixel, 0.4, "32 values of at most 8 bits for 784 pixels")
        let png = try ImageCodecBaseline.perImage(images, jpegQuality: nil)
        XCTAssertEqual(png.psnr, .infinity)
        let jpeg = try ImageCodecBaseline.mosaic(images, jpegQuality: 50)
        let jpegLow = try ImageCodecBaseline.mosaic(images, jpegQuality: 5)
        XCTAssertGreaterThan(jpeg.psnr, jpegLow.psnr)
        XCTAssertGreaterThan(jpeg.bitsPerPixel, jpegLow.bitsPerPixel)
        print("rate-distortion on 500 test images:\n" + rateDistortionCSV(points + [jpegLow, jpeg, png]))
        let svg = rateDistortionSVG(points + [jpegLow, jpeg, png], title: "test <plot>")
        XCTAssertTrue(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2, "one line for ours, one for JPEG mosaics")
        XCTAssertTrue(svg.contains("test &lt;plot>") && svg.contains("lossless"))
        XCTAssertEqual(rateDistortionCSV([png]).split(separator: "\n").last, "png,lossless per image,\(png.bytes),\(String(format: "%.4f", png.bitsPerPixel)),inf")
    }
}
