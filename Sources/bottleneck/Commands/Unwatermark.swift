import ArgumentParser
import Bottleneck
import Foundation

struct Unwatermark: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove text watermarks from images with a model trained by --variant unwatermark.",
        discussion: """
        With --add-watermark the inputs are taken as clean: each gets the model's training
        watermark (text, opacity range) at a random place (seeded), and PSNR and SSIM of the
        watermarked and of the restored images against the clean ones are printed. With --clean
        the inputs are watermarked and the references are given.

        Examples:
          bottleneck train --preset conv --variant unwatermark --watermark-text SAMPLE --opacity 0.3-0.7 -o unwatermark.safetensors
          bottleneck unwatermark --model unwatermark.safetensors --add-watermark --output restored.png
          bottleneck unwatermark --model unwatermark.safetensors --data marked/ --output restored/
        """)

    @OptionGroup var memory: MemoryOptions
    @OptionGroup var common: RestorationOptions
    @OptionGroup var dataOptions: DataOptions
    @Flag(name: .long, help: "Watermark the (clean) inputs first, as the model was trained, and score the restoration.")
    var addWatermark = false

    func run() throws {
        let loaded = try TrainedModel.load(common.model, memoryLimit: memory.maxModelMemory)
        let mark = try Variants.watermark(loaded.model.spec.variant)
        if addWatermark && common.clean != nil { throw BottleneckError("give --add-watermark (mark clean inputs here) or --clean (references for marked inputs), not both") }
        let inputs = try RestorationInputs.load(dataOptions, loaded: loaded, channels: loaded.model.inputShape.count == 3 ? loaded.model.inputShape[0] : nil)
        guard inputs.isImage else { throw BottleneckError("unwatermark needs images [C, H, W], got \(inputs.source)") }
        try runRestoration(loaded: loaded, inputs: inputs, common: common, dataOptions: dataOptions, label: "marked",
                           corrupt: addWatermark ? { mark.apply($0, rng: $1) } : nil) { try Restoration.applyAnySize(loaded.model, to: $0) }
    }
}
