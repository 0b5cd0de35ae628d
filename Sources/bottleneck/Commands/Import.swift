import ArgumentParser
import Bottleneck
import Foundation

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bring a plain PyTorch state_dict (saved as safetensors) into a Bottleneck model file.",
        discussion: """
        Layers keep PyTorch's tensor layouts, so only the names are mapped. Without --rename,
        modules are matched in forward order: the seed's PyTorch ConvAutoencoder (encoder.0/2,
        fc.0/2, decoder.0/2), an encoder/decoder pair of nn.Sequential, or one flat nn.Sequential
        (0.weight, 2.weight, ...) need no map. Anything else takes --rename, a JSON object from
        the state_dict's keys to the model's (bottleneck summary --arch ... lists those). Every
        missing, unexpected or mis-shaped tensor is listed, and nothing is written then.

        In PyTorch:
          from safetensors.torch import save_file
          save_file(model.state_dict(), "torch.safetensors")

        Examples:
          bottleneck import --state-dict torch.safetensors --arch conv -o conv.safetensors
          bottleneck import --state-dict ae.safetensors --arch my-model.json --input-shape 20 \\
              --rename names.json -o ae.safetensors
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "The PyTorch state_dict, saved with safetensors' save_file.") var stateDict: String
    @Option(name: .long, help: "The architecture: a preset (\(Preset.allCases.map(\.rawValue).joined(separator: ", "))) or an architecture JSON file.")
    var arch: String
    @Option(name: .long, help: "Per-sample input shape, e.g. 1x28x28 (default) or 20.") var inputShape = "1x28x28"
    @Option(name: .long, help: "Presets: the code size the state_dict was trained with.") var codeSize: Int?
    @Option(name: .long, help: "JSON object mapping state_dict keys to the model's keys.") var rename: String?
    @Option(name: .long, help: "Input scaling stored with the model: none (default: the PyTorch model's inputs as given), or the inputs' range as min:max, e.g. 0:255.")
    var scaling = "none"
    @Option(name: [.short, .long], help: "Model file to write.") var output: String

    func run() throws {
        let shape = try parseSampleShape(inputShape, flag: "--input-shape")
        let spec: ArchitectureSpec
        if arch.lowercased().hasSuffix(".json") { spec = try ArchitectureSpec.load(path: arch) }
        else { spec = try Preset.named(arch).spec(inputShape: shape, codeSize: codeSize) }
        let scaler = try importScaler()
        try checkWritable(output, flag: "-o/--output")
        let model = try Autoencoder(spec: spec, inputShape: shape, rng: RandomGenerator(seed: 0), memoryLimit: memory.maxModelMemory)
        let file = try SafeTensors.read(stateDict)
        let renames = try rename.map { path -> [String: String] in
            guard let data = FileManager.default.contents(atPath: path) else { throw BottleneckError.file(path, "no such file") }
            guard let map = try? JSONDecoder().decode([String: String].self, from: data) else {
                throw BottleneckError.file(path, "is not a JSON object of state_dict keys to model keys")
            }
            return map
        }
        try StateDictImport.load(file.tensors, names: file.names, into: model, renames: renames,
                                 architecture: "'\(spec.name)' \(formatShape(shape))", source: stateDict)
        model.eval()
        try TrainedModel(model: model, scaler: scaler).save(to: output)
        print("wrote \(output): '\(spec.name)', \(grouped(model.parameterCount)) parameters from \(file.names.count) tensors of \(stateDict)")
    }

    func importScaler() throws -> Scaler {
        if scaling == "none" { return Scaler(.none) }
        let parts = scaling.split(separator: ":").compactMap { Float($0) }
        guard parts.count == 2, parts[0] < parts[1], scaling.split(separator: ":").count == 2 else {
            throw BottleneckError("--scaling must be none or min:max (e.g. 0:255), got '\(scaling)'")
        }
        return Scaler.fixedRange(min: parts[0], max: parts[1])
    }
}
