import ArgumentParser
import Bottleneck
import Foundation

struct Inpaint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill missing pixels (a hole given by a mask or a rectangle) with a model trained on occluded images.",
        discussion: """
        The model comes from `bottleneck train --variant denoising --noise occlusion:0.2-0.5`. The
        output keeps every known pixel and takes the model's pixels inside the hole. The hole is a
        mask image of the images' size (white = missing), a rectangle --rect x,y,width,height, or
        --random-holes MIN-MAX (one random rectangle per image, sides MIN to MAX of the image's, as
        in training).

        It prints PSNR inside the hole against the pixels the inputs hold there (meaningful when the
        inputs are complete images, e.g. for evaluation), for the model and for two plain fills: the
        local mean (mean of the known pixels bordering the hole) and diffusion (each hole pixel the
        mean of its neighbours, solved iteratively).

        Examples:
          bottleneck train --preset conv --variant denoising --noise occlusion:0.2-0.5 --epochs 5 -o inpaint.safetensors
          bottleneck inpaint --model inpaint.safetensors --rect 8,8,12,12 --output inpainted.png
          bottleneck inpaint --model inpaint.safetensors --data photos/ --mask hole.png --output filled/
          bottleneck inpaint --model inpaint.safetensors --random-holes 0.2-0.5 --json --output inpainted.png
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file.") var model: String
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Mask image (PNG/JPEG) of the images' size: white = missing.") var mask: String?
    @Option(name: .long, help: "Missing rectangle: x,y,width,height in pixels.") var rect: String?
    @Option(name: .long, help: "One random rectangle per image with sides MIN-MAX of the image's, e.g. 0.2-0.5.") var randomHoles: String?
    @Option(name: [.short, .long], help: "Output: a .png grid (holes, fills, originals; one image: that image), .npy/.csv, or a folder of PNGs.")
    var output: String
    @Option(name: .long, help: "Samples shown in a .png grid.") var count = 16
    @Option(name: .long, help: "Seed of the random holes.") var seed: UInt64 = 1234
    @Flag(name: .long, help: "Print the scores as JSON.") var json = false

    func run() throws {
        guard [mask, rect, randomHoles].compactMap({ $0 }).count == 1 else { throw BottleneckError("give exactly one of --mask, --rect or --random-holes") }
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        guard loaded.model.inputShape.count == 3 else {
            throw BottleneckError("model '\(loaded.model.spec.name)' takes \(formatShape(loaded.model.inputShape)) samples: inpainting needs an image model")
        }
        let inputs = try RestorationInputs.load(dataOptions, loaded: loaded, channels: loaded.model.inputShape[0])
        let rng = RandomGenerator(seed: seed)
        var degraded: [Tensor] = [], filled: [Tensor] = []
        var pooled = (model: 0.0, local: 0.0, diffusion: 0.0, pixels: 0, images: 0)
        for batch in inputs.batches {
            let (h, w) = (batch.shape[2], batch.shape[3])
            let masks: [HoleMask]
            if let mask { masks = [try HoleMask.read(mask, imageWidth: w, imageHeight: h)] }
            else if let rect { masks = [try HoleMask.rectangle(parsing: rect, imageWidth: w, imageHeight: h)] }
            else {
                guard case .occlusion(let lo, let hi) = try NoiseModel(parsing: "occlusion:" + randomHoles!) else { fatalError() }
                masks = HoleMask.randomRectangles(count: batch.shape[0], width: w, height: h, minSide: lo, maxSide: hi, rng: rng)
            }
            let (score, out) = try InpaintingScore.measure(loaded.model, clean: batch, masks: masks)
            degraded.append(try Inpainting.masked(batch, masks))
            filled.append(out)
            // Pool the three errors over all hole pixels (PSNR back to MSE, weighted by pixels).
            let k = Double(score.holePixels * batch.shape[1])
            pooled.model += mseOf(score.psnrModel) * k
            pooled.local += mseOf(score.psnrLocalMean) * k
            pooled.diffusion += mseOf(score.psnrDiffusion) * k
            pooled.pixels += score.holePixels
            pooled.images += score.images
        }
        let k = Double(max(pooled.pixels * inputs.batches[0].shape[1], 1))
        let total = InpaintingScore(images: pooled.images, holePixels: pooled.pixels, psnrModel: psnr(mse: pooled.model / k),
                                    psnrLocalMean: psnr(mse: pooled.local / k), psnrDiffusion: psnr(mse: pooled.diffusion / k))
        if json { print(try prettyJSON(total)) } else {
            print(String(format: "PSNR inside the hole (%d pixels in %d images): model %.2f dB, local mean %.2f dB, diffusion %.2f dB",
                         total.holePixels, total.images, total.psnrModel, total.psnrLocalMean, total.psnrDiffusion))
        }
        let message = try writeRestorationOutput(output, inputs: inputs, degraded: degraded, restored: filled, clean: inputs.batches, scaler: loaded.scaler, count: count)
        if !json { print(message) }
    }

    func mseOf(_ psnrDB: Double) -> Double { SampleMetrics.mse(psnr: psnrDB) }
}
