import ArgumentParser
import Bottleneck
import Foundation

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode samples from the latent prior of a VAE or AAE into a PNG grid.",
        discussion: "Example:\n  bottleneck generate --model vae.safetensors --count 64 -o samples.png")

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file (trained with --variant vae or aae).") var model: String
    @Option(name: .long, help: "Number of samples.") var count = 64
    @Option(name: .long, help: "Seed for the prior samples.") var seed: UInt64 = 0
    @Option(name: [.short, .long], help: "PNG file to write (or .npy for the raw values).") var output = "samples.png"

    func run() throws {
        guard count >= 1 else { throw BottleneckError("--count must be at least 1") }
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        let samples = try Generation.sample(loaded.model, count: count, rng: RandomGenerator(seed: seed))
        if output.lowercased().hasSuffix(".npy") {
            try NPYArray.write(try loaded.scaler.inverseTransform(samples), to: output)
        } else {
            try writeSampleGrid(samples, scaler: loaded.scaler, limit: count, to: output)
        }
        print("wrote \(output): \(count) samples from the \(try Generation.prior(of: loaded.model)) prior")
    }
}

struct Interpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode a straight line in latent space between two inputs into a PNG strip.",
        discussion: "Example:\n  bottleneck interpolate --model vae.safetensors --from 0 --to 1 --steps 10 -o line.png")

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file.") var model: String
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Index of the first input.") var from = 0
    @Option(name: .long, help: "Index of the second input.") var to = 1
    @Option(name: .long, help: "Points on the line, ends included.") var steps = 10
    @Option(name: [.short, .long], help: "PNG file to write.") var output = "interpolation.png"

    func run() throws {
        guard steps >= 2 else { throw BottleneckError("--steps must be at least 2") }
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        let data = try loaded.data(dataOptions)
        for (flag, i) in [("--from", from), ("--to", to)] where !(0..<data.count).contains(i) {
            throw BottleneckError("\(flag) \(i) is outside the data's \(data.count) samples")
        }
        let line = Generation.interpolate(loaded.model, from: data.inputs.rows(from, 1), to: data.inputs.rows(to, 1), steps: steps)
        try writeComparisonGrid(rows: [line], scaler: loaded.scaler, to: output)
        print("wrote \(output): \(steps) points from sample \(from) to sample \(to)")
    }
}
