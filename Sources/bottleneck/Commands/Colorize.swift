import ArgumentParser
import Bottleneck
import Foundation

struct Colorize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Colour grayscale images with a model trained by --variant colorize.",
        discussion: """
        Gray inputs are coloured. Colour inputs are taken as the true colours: they are turned gray,
        coloured, and PSNR and SSIM of the gray copy (gray in all three channels) and of the
        coloured output against the true colours are printed. Images larger than the model's input
        (e.g. photos for a model trained on 32x32 patches) are coloured in overlapping tiles.

        Examples:
          bottleneck patches --data Tests/Fixtures/photos --size 32 --stride 8 --part train -o photo-train.npy
          bottleneck train --preset conv --variant colorize --data photo-train.npy --epochs 20 -o colorize.safetensors
          bottleneck colorize --model colorize.safetensors --data Tests/Fixtures/photos/chelsea.png --output chelsea-colour.png
          bottleneck colorize --model colorize.safetensors --data photo-test.npy --output colour.png
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file.") var model: String
    @OptionGroup var dataOptions: DataOptions
    @Option(name: [.short, .long], help: "Output: a .png grid (gray over coloured over true colours; one image: that image), .npy/.csv, or a folder of PNGs.")
    var output: String
    @Option(name: .long, help: "Samples shown in a .png grid.") var count = 16
    @Flag(name: .long, help: "Print the scores as JSON.") var json = false

    func run() throws {
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        let m = loaded.model
        guard m.inputShape.count == 3, m.inputShape[0] == 3 else {
            throw BottleneckError("model '\(m.spec.name)' takes \(formatShape(m.inputShape)) inputs (not colour): colorize needs a model trained with --variant colorize on colour images")
        }
        let inputs = try RestorationInputs.load(dataOptions, loaded: loaded, channels: nil)
        guard inputs.isImage else { throw BottleneckError("colorize needs images, got \(inputs.source)") }
        let keep = Colorization.keepsLuma(m)
        var gray: [Tensor] = [], coloured: [Tensor] = [], truth: [Tensor] = []
        var scorer = RestorationScorer()
        for batch in inputs.batches {
            let g = try Colorization.replicated(batch)
            let c = try Colorization.colorize(m, gray: g, keepLuma: keep)
            gray.append(g)
            coloured.append(c)
            if batch.shape[1] == 3 {
                truth.append(batch)
                try scorer.add(degraded: g, restored: c, clean: batch, isImage: true)
            }
        }
        let scored = truth.count == inputs.batches.count
        if scored { try printScore(scorer.score, inputLabel: "gray copy", json: json) }
        else if !truth.isEmpty { print("(some inputs are gray: no score)") }
        let message = try writeRestorationOutput(output, inputs: inputs, degraded: gray, restored: coloured, clean: scored ? truth : nil,
                                                 scaler: loaded.scaler, count: count)
        if !json { print(message) }
    }
}

struct PatchesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patches",
        abstract: "Cut photos into square patches and save them as a .npy dataset [N, C, size, size] in [0, 1].",
        discussion: """
        Each photo's columns are split: the left part (1 - --test-fraction) gives the train patches,
        the right part the test patches, so a model trained on one is measured on pixels it never saw.

        Examples:
          bottleneck patches --data Tests/Fixtures/photos --size 32 --stride 8 --part train -o photo-train.npy
          bottleneck patches --data Tests/Fixtures/photos --size 32 --stride 32 --part test -o photo-test.npy
        """)

    @Option(name: .long, help: "A folder of PNG/JPEG photos, or one photo.") var data: String
    @Option(name: .long, help: "Patch side in pixels.") var size = 32
    @Option(name: .long, help: "Pixels between patch origins.") var stride = 16
    @Option(name: .long, help: "train, test or all.") var part = "all"
    @Option(name: .long, help: "Fraction of each photo's width (on the right) kept for test patches.") var testFraction = 0.25
    @Option(name: .long, help: "Shrink the photos by this integer factor first.") var downscale = 1
    @Flag(name: .long, help: "Gray patches (1 channel) instead of colour.") var gray = false
    @Option(name: [.short, .long], help: "Output .npy file.") var output: String

    func run() throws {
        guard let p = Patches.Part(rawValue: part) else { throw BottleneckError("--part must be train, test or all, got '\(part)'") }
        guard output.lowercased().hasSuffix(".npy") else { throw BottleneckError("--output \(output): name a .npy file") }
        let (images, _) = try Patches.loadImages(data, channels: gray ? 1 : 3, downscale: downscale)
        let patches = try Patches.cut(images, size: size, stride: stride, part: p, testFraction: testFraction)
        try NPYArray.write(patches, to: output)
        print("wrote \(output): \(patches.shape[0]) patches of \(formatShape(Array(patches.shape.dropFirst()))) from \(images.count) image(s)")
    }
}
