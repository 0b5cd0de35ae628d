import ArgumentParser
import Bottleneck
import Foundation

/// The options every restoration command shares.
struct RestorationOptions: ParsableArguments {
    @Option(name: .long, help: "Model file.") var model: String
    @Option(name: .long, help: "Clean references for the inputs (same kind of data, same order): reports PSNR and SSIM.") var clean: String?
    @Option(name: [.short, .long], help: "Output: a .png grid (inputs over outputs; one image: that image), .npy or .csv of all outputs, or a folder of PNGs.")
    var output: String
    @Option(name: .long, help: "Samples shown in a .png grid.") var count = 16
    @Option(name: .long, help: "Seed of the corruption drawn for evaluation.") var seed: UInt64 = 1234
    @Flag(name: .long, help: "Print the scores as JSON.") var json = false
}

struct Denoise: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Clean noisy images (or table rows) with a denoising autoencoder; score it against clean references.",
        discussion: """
        The model comes from `bottleneck train --variant denoising --noise ...`. Inputs are --data
        (Fashion-MNIST's test split by default; a folder of images, an image, .npy, .csv, IDX).

        With --noise the inputs are taken as clean references: they are corrupted here (seeded), the
        corrupted copies are denoised, and PSNR and SSIM of the noisy inputs and of the denoised
        outputs against the references are printed. With --clean the inputs are noisy and the
        references are given. Without either, the inputs are only denoised.

        Examples:
          bottleneck train --preset conv --variant denoising --noise gaussian:0.3 --epochs 5 -o denoise.safetensors
          bottleneck denoise --model denoise.safetensors --noise gaussian:0.3 --output denoised.png
          bottleneck denoise --model denoise.safetensors --data noisy/ --clean clean/ --output cleaned/
          bottleneck denoise --model denoise.safetensors --data noisy.npy --output cleaned.npy
        """)

    @OptionGroup var memory: MemoryOptions
    @OptionGroup var common: RestorationOptions
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Corrupt the (clean) inputs first: gaussian:SIGMA, salt-pepper:FRACTION, mask:FRACTION, occlusion:MIN-MAX.")
    var noise: String?

    func run() throws {
        let loaded = try TrainedModel.load(common.model, memoryLimit: memory.maxModelMemory)
        let noiseModel = try noise.map { try NoiseModel(parsing: $0) }
        if noiseModel != nil && common.clean != nil { throw BottleneckError("give --noise (corrupt clean inputs here) or --clean (references for noisy inputs), not both") }
        let inputs = try RestorationInputs.load(dataOptions, loaded: loaded, channels: loaded.model.inputShape.count == 3 ? loaded.model.inputShape[0] : nil)
        try runRestoration(loaded: loaded, inputs: inputs, common: common, dataOptions: dataOptions, label: "noisy",
                           corrupt: noiseModel.map { n in { n.apply($0, rng: $1) } }) { try Restoration.applyAnySize(loaded.model, to: $0) }
    }
}

/// The shared flow of denoise and unwatermark: corrupt clean inputs (or load references), restore,
/// score, write.
func runRestoration(loaded: TrainedModel, inputs: RestorationInputs, common: RestorationOptions, dataOptions: DataOptions, label: String,
                    corrupt: ((Tensor, RandomGenerator) -> Tensor)?, restore: (Tensor) throws -> Tensor) throws {
    var clean: [Tensor]? = nil
    var degraded = inputs.batches
    if let corrupt {
        let rng = RandomGenerator(seed: common.seed)
        clean = inputs.batches
        degraded = inputs.batches.map { corrupt($0, rng) }
    } else if let path = common.clean {
        let refs = try RestorationInputs.load(dataOptions, path: path, loaded: loaded, channels: inputs.batches[0].rank == 4 ? inputs.batches[0].shape[1] : nil)
        try inputs.checkReferences(refs, flag: "--clean")
        clean = refs.batches
    }
    let restored = try degraded.map { x -> Tensor in let r = try restore(x); return inputs.isImage ? r.clamp(0, 1) : r }
    if let clean {
        var scorer = RestorationScorer()
        for i in 0..<clean.count { try scorer.add(degraded: degraded[i], restored: restored[i], clean: clean[i], isImage: inputs.isImage) }
        try printScore(scorer.score, inputLabel: label, json: common.json)
    }
    let message = try writeRestorationOutput(common.output, inputs: inputs, degraded: degraded, restored: restored, clean: clean,
                                             scaler: loaded.scaler, count: common.count)
    if !common.json { print(message) }
}
