import Foundation
import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

let imageFixtures = fixturesDirectory.appendingPathComponent("images").path

/// An image whose pixel (x, y), channel c is value(x, y, c).
func makeImage(width: Int, height: Int, channels: Int, _ value: (Int, Int, Int) -> Int) -> Image {
    var pixels: [UInt8] = []
    for y in 0..<height { for x in 0..<width { for c in 0..<channels { pixels.append(UInt8(value(x, y, c))) } } }
    return Image(width: width, height: height, channels: channels, pixels: pixels)
}

final class ImageTests: XCTestCase {
    // MARK: PNG decoding of files from another encoder (Tests/Fixtures/images/make_png_fixtures.py)

    func testPNGFixturesOfEveryColorType() throws {
        let palette = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (10, 20, 30)]
        XCTAssertEqual(try Image.read(imageFixtures + "/palette.png"), makeImage(width: 4, height: 3, channels: 3) { x, y, c in
            let p = palette[(x + y) % 4]
            return [p.0, p.1, p.2][c]
        })
        XCTAssertEqual(try Image.read(imageFixtures + "/gray2bit.png"), makeImage(width: 4, height: 2, channels: 1) { x, y, _ in 85 * ((x + y) % 4) })
        XCTAssertEqual(try Image.read(imageFixtures + "/gray16.png"), makeImage(width: 3, height: 2, channels: 1) { x, y, _ in 40 * x + 100 * y })
        XCTAssertEqual(try Image.read(imageFixtures + "/rgb16.png"), makeImage(width: 2, height: 2, channels: 3) { x, y, c in 50 * x + 20 * y + 60 * c })
        XCTAssertEqual(try Image.read(imageFixtures + "/gray_alpha.png"), makeImage(width: 2, height: 2, channels: 1) { x, y, _ in 60 * x + 30 * y })
        XCTAssertEqual(try Image.read(imageFixtures + "/rgba.png"), makeImage(width: 3, height: 2, channels: 3) { x, y, c in 10 + 40 * x + 70 * y + c })
        XCTAssertEqual(try Image.read(imageFixtures + "/interlaced.png"), makeImage(width: 9, height: 9, channels: 3) { x, y, c in (11 * x + 17 * y + 80 * c) % 256 })
    }

    // MARK: Round trips

    func testPNGWriteReadRoundTrip() throws {
        let dir = try temporaryDirectory(self)
        for channels in [1, 3] {
            let image = makeImage(width: 13, height: 7, channels: channels) { x, y, c in (x * 19 + y * 31 + c * 77) % 256 }
            let path = "\(dir)/round\(channels).png"
            try image.writePNG(to: path)
            XCTAssertEqual(try Image.read(path), image)
        }
        XCTAssertEqual((try FileManager.default.contentsOfDirectory(atPath: dir)).sorted(), ["round1.png", "round3.png"], "no temporary files left")
    }

    func testJPEGWriteReadIsClose() throws {
        let dir = try temporaryDirectory(self)
        let rgb = makeImage(width: 40, height: 24, channels: 3) { x, y, c in [6 * x, 10 * y, 120][c] }
        try rgb.writeJPEG(to: dir + "/a.jpg", quality: 95)
        let back = try Image.read(dir + "/a.jpg")
        XCTAssertEqual([back.width, back.height, back.channels], [40, 24, 3])
        let worst = zip(rgb.pixels, back.pixels).map { abs(Int($0) - Int($1)) }.max()!
        XCTAssertLessThanOrEqual(worst, 10, "smooth image at quality 95")

        let gray = makeImage(width: 16, height: 16, channels: 1) { x, y, _ in 8 * x + 4 * y }
        let grayBack = try Image.decode(try gray.jpegData(quality: 90), source: "gray.jpg")
        XCTAssertEqual(grayBack.channels, 1)
        XCTAssertLessThanOrEqual(zip(gray.pixels, grayBack.pixels).map { abs(Int($0) - Int($1)) }.max()!, 10)
        let small = try rgb.jpegData(quality: 10), large = try rgb.jpegData(quality: 95)
        XCTAssertLessThan(small.count, large.count, "quality changes the size")
        assertBottleneckError(["JPEG quality must be 1...100"]) { _ = try rgb.jpegData(quality: 0) }
    }

    func testTensorConversions() throws {
        let image = makeImage(width: 3, height: 2, channels: 3) { x, y, c in 50 * x + 100 * y + c }
        let t = image.tensor()
        XCTAssertEqual(t.shape, [3, 2, 3])
        XCTAssertEqual(t.data[1 * 6 + 1 * 3 + 2], Float(50 * 2 + 100 + 1) / 255, "channel 1, y 1, x 2")
        XCTAssertEqual(try Image(tensor: t), image)
        let clamped = try Image(tensor: Tensor(shape: [2, 2], values: [-0.5, 0.5, 1.5, .nan]))
        XCTAssertEqual(clamped.pixels, [0, 128, 255, 0])
        assertBottleneckError(["an image tensor must be [1 or 3, H, W]", "[2, 4, 4]"]) { _ = try Image(tensor: Tensor(shape: [2, 4, 4])) }
    }

    func testGrayRGBConversionAndBilinearResize() throws {
        let rgb = Image(width: 2, height: 1, channels: 3, pixels: [255, 0, 0, 10, 200, 30])
        XCTAssertEqual(rgb.converted(toChannels: 1).pixels, [76, 124], "ITU-R 601 luma, as PIL's convert('L')")
        XCTAssertEqual(Image(width: 1, height: 1, channels: 1, pixels: [9]).converted(toChannels: 3).pixels, [9, 9, 9])

        let ramp = Image(width: 2, height: 1, channels: 1, pixels: [0, 255])
        XCTAssertEqual(ramp.resized(width: 4, height: 1).pixels, [0, 64, 191, 255], "half-pixel centres, as align_corners=False")
        let uniform = makeImage(width: 10, height: 8, channels: 3) { _, _, c in 40 + c }
        XCTAssertEqual(uniform.resized(width: 3, height: 5), makeImage(width: 3, height: 5, channels: 3) { _, _, c in 40 + c })
        let halved = makeImage(width: 4, height: 4, channels: 1) { x, _, _ in 10 * x }.resized(width: 2, height: 2)
        XCTAssertEqual(halved.pixels, [5, 25, 5, 25], "2:1 reduction averages pixel pairs")
    }

    func testImageGridLayout() throws {
        let images = Tensor(shape: [3, 1, 2, 2], values: (0..<12).map { Float($0) / 255 })
        let grid = try imageGrid(images, columns: 2, padding: 1, paddingValue: 200)
        XCTAssertEqual([grid.width, grid.height, grid.channels], [7, 7, 1])
        func px(_ x: Int, _ y: Int) -> UInt8 { grid.pixels[y * 7 + x] }
        XCTAssertEqual([px(1, 1), px(2, 1), px(1, 2), px(2, 2)], [0, 1, 2, 3], "first image at (1, 1)")
        XCTAssertEqual([px(4, 1), px(5, 2)], [4, 7], "second image right of it")
        XCTAssertEqual([px(1, 4), px(2, 5)], [8, 11], "third image below the first")
        XCTAssertEqual([px(0, 0), px(3, 1), px(4, 4)], [200, 200, 200], "padding, and the empty cell")
        assertBottleneckError(["imageGrid needs images [N, 1 or 3, H, W]"]) { _ = try imageGrid(Tensor(shape: [2, 2, 4, 4]), columns: 2) }
    }

    func testFashionMNISTSliceToPNGGrid() throws {
        let path = FashionMNIST.defaultDirectory + "/t10k-images-idx3-ubyte.gz"
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("Fashion-MNIST is not installed at \(path)") }
        let raw = try IDXArray.read(path)
        let test = try FashionMNIST.load(.test)
        let originals = test.inputs.rows(0, 8)
        let reconstructions = withoutGradients { 1 - originals }  // stands in for a model's output
        let pair = Tensor.concat([originals, reconstructions], axis: 0)
        let file = try temporaryDirectory(self) + "/grid.png"
        try imageGrid(pair, columns: 8, padding: 2).writePNG(to: file)
        let grid = try Image.read(file)
        XCTAssertEqual([grid.width, grid.height, grid.channels], [8 * 28 + 9 * 2, 2 * 28 + 3 * 2, 1])
        for (i, (x, y)) in [(0, 0), (5, 14), (27, 27), (13, 20)].enumerated() {
            let k = i * 2  // image k, and its "reconstruction" in the second row
            let byte = UInt8(raw.values[k * 784 + y * 28 + x])
            let gx = 2 + k * 30 + x
            XCTAssertEqual(grid.pixels[(2 + y) * grid.width + gx], byte, "original \(k) at (\(x), \(y))")
            XCTAssertEqual(grid.pixels[(32 + y) * grid.width + gx], 255 - byte, "reconstruction \(k) at (\(x), \(y))")
        }
    }

    // MARK: Folder loader

    func testFolderLoaderFlatAndClassSubfolders() throws {
        let dir = try temporaryDirectory(self)
        let a = makeImage(width: 4, height: 3, channels: 3) { x, y, c in 20 * x + 30 * y + c }
        let b = makeImage(width: 4, height: 3, channels: 1) { _, _, _ in 90 }
        try a.writePNG(to: dir + "/b.png")
        try b.writeJPEG(to: dir + "/a.JPG", quality: 100)  // a flat gray JPEG decodes exactly
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: dir + "/notes.txt"))
        let flat = try ImageFolder.load(dir, color: .rgb, sizing: .requireUniform)
        XCTAssertEqual(flat.files.map { ($0 as NSString).lastPathComponent }, ["a.JPG", "b.png"])
        XCTAssertEqual(flat.dataset.inputs.shape, [2, 3, 3, 4])
        XCTAssertNil(flat.dataset.labels)
        XCTAssertEqual(Array(flat.dataset.inputs.scalars[0..<36]), [Float](repeating: 90 / 255, count: 36))
        XCTAssertEqual(Array(flat.dataset.inputs.scalars[36...]), a.tensor().scalars)
        let gray = try ImageFolder.load(dir, color: .gray, sizing: .resize(width: 2, height: 5))
        XCTAssertEqual(gray.dataset.inputs.shape, [2, 1, 5, 2])

        let classes = try temporaryDirectory(self)
        for (name, count) in [("dog", 2), ("cat", 1)] {
            try FileManager.default.createDirectory(atPath: "\(classes)/\(name)", withIntermediateDirectories: true)
            for i in 0..<count { try a.writePNG(to: "\(classes)/\(name)/\(i).png") }
        }
        try FileManager.default.createDirectory(atPath: "\(classes)/empty", withIntermediateDirectories: true)
        let labelled = try ImageFolder.load(classes, color: .gray, sizing: .requireUniform)
        XCTAssertEqual(labelled.classNames, ["cat", "dog"])
        XCTAssertEqual(labelled.dataset.labels, [0, 1, 1])
        XCTAssertEqual(labelled.dataset.inputs.shape, [3, 1, 3, 4])
        try b.writePNG(to: classes + "/loose.png")
        assertBottleneckError(["mixes loose images ('loose.png') with class subfolders"]) {
            _ = try ImageFolder.load(classes, color: .gray, sizing: .requireUniform)
        }
    }

    func testFolderLoaderErrors() throws {
        let dir = try temporaryDirectory(self)
        try makeImage(width: 4, height: 3, channels: 1) { _, _, _ in 1 }.writePNG(to: dir + "/1.png")
        try makeImage(width: 5, height: 3, channels: 1) { _, _, _ in 1 }.writePNG(to: dir + "/2.png")
        assertBottleneckError(["\(dir)/2.png: image is 5x3 (width x height), but \(dir)/1.png is 4x3"]) {
            _ = try ImageFolder.load(dir, color: .gray, sizing: .requireUniform)
        }
        XCTAssertEqual(try ImageFolder.load(dir, color: .gray, sizing: .resize(width: 4, height: 3)).dataset.count, 2)
        try Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]).write(to: URL(fileURLWithPath: dir + "/3.png"))
        assertBottleneckError(["\(dir)/3.png: corrupt or unsupported PNG (7 bytes)"]) {
            _ = try ImageFolder.load(dir, color: .gray, sizing: .resize(width: 4, height: 3))
        }
        let empty = try temporaryDirectory(self)
        assertBottleneckError(["\(empty): has no .png, .jpg or .jpeg images"]) { _ = try ImageFolder.load(empty, color: .rgb, sizing: .requireUniform) }
        assertBottleneckError(["/no/such/folder: no such folder"]) { _ = try ImageFolder.load("/no/such/folder", color: .rgb, sizing: .requireUniform) }
        assertBottleneckError(["image size must be positive"]) { _ = try ImageFolder.load(dir, color: .rgb, sizing: .resize(width: 0, height: 3)) }
    }

    // MARK: Corrupt input is an error, never a crash

    func testCorruptImagesThrow() throws {
        let image = makeImage(width: 32, height: 32, channels: 3) { x, y, c in (x * 7 + y * 3 + c * 50) % 256 }
        let png = try image.pngData(), jpeg = try image.jpegData(quality: 80)
        assertBottleneckError(["/no/such.png: no such file"]) { _ = try Image.read("/no/such.png") }
        assertBottleneckError(["x.png: not a PNG or JPEG image (0 bytes"]) { _ = try Image.decode(Data(), source: "x.png") }
        assertBottleneckError(["x.png: not a PNG or JPEG image (11 bytes"]) { _ = try Image.decode(Data("hello world".utf8), source: "x.png") }
        assertBottleneckError(["cut.png: corrupt or unsupported PNG", "truncated"]) { _ = try Image.decode(png.prefix(png.count / 2), source: "cut.png") }
        var flipped = png
        flipped[png.count / 2] ^= 0xFF
        assertBottleneckError(["flipped.png: corrupt or unsupported PNG"]) { _ = try Image.decode(flipped, source: "flipped.png") }
        assertBottleneckError(["header.png: corrupt or unsupported PNG"]) { _ = try Image.decode(png.prefix(20), source: "header.png") }
        assertBottleneckError(["cut.jpg: corrupt or unsupported JPEG", "Premature end"]) { _ = try Image.decode(jpeg.prefix(jpeg.count / 2), source: "cut.jpg") }
        assertBottleneckError(["head.jpg: corrupt or unsupported JPEG"]) { _ = try Image.decode(jpeg.prefix(3), source: "head.jpg") }
        var garbage = Data([0xFF, 0xD8, 0xFF])
        garbage.append(contentsOf: (0..<500).map { UInt8(($0 * 37 + 11) % 256) })
        assertBottleneckError(["garbage.jpg: corrupt or unsupported JPEG"]) { _ = try Image.decode(garbage, source: "garbage.jpg") }
        // Seeded random damage to a JPEG and a PNG: every outcome must be an error or an image, never a
        // crash. BN_FUZZ=20000 runs more (checked so under AddressSanitizer: no errors, no leaks).
        var state: UInt64 = 12345
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        for original in [jpeg, png] {
            for _ in 0..<(ProcessInfo.processInfo.environment["BN_FUZZ"].flatMap { Int($0) } ?? 50) {
                var damaged = original
                for _ in 0..<4 { damaged[8 + next() % (damaged.count - 8)] = UInt8(next() % 256) }
                _ = try? Image.decode(damaged, source: "damaged")
            }
        }
    }
}
