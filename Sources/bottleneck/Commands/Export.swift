import ArgumentParser
import Bottleneck
import Foundation

extension ONNXPart: ExpressibleByArgument {}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model as an ONNX file (opset 17) for onnxruntime and other runtimes.",
        discussion: """
        The graph takes raw data, as Bottleneck does: the model's input scaling is inside it (and
        its inverse on the reconstruction). The architecture, scaling, feature names and the
        stored detector (score, threshold) are in the file's metadata_props. --part encoder
        gives the codes (a VAE's mean), --part decoder turns codes into reconstructions.

        Examples:
          bottleneck export --model conv.safetensors --format onnx -o conv.onnx
          bottleneck export --model vae.safetensors --part decoder -o generate.onnx
          python3 -c "import onnxruntime as ort, numpy as np; s = ort.InferenceSession('conv.onnx'); \\
            print(s.run(None, {'input': np.zeros((1, 1, 28, 28), np.float32)})[0].shape)"
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file.") var model: String
    @Option(name: .long, help: "Output format: onnx.") var format = "onnx"
    @Option(name: .long, help: "Graph: full (inputs to reconstructions), encoder (inputs to codes) or decoder (codes to reconstructions).")
    var part = ONNXPart.full
    @Option(name: [.short, .long], help: "File to write.") var output: String

    func validate() throws {
        guard format == "onnx" else { throw ValidationError("--format must be onnx, got '\(format)'") }
        guard output.lowercased().hasSuffix(".onnx") else { throw ValidationError("-o/--output \(output): use a .onnx file name") }
    }

    func run() throws {
        try checkWritable(output, flag: "-o/--output")
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        let bytes = try ONNXExport.export(loaded, part: part)
        try writeAtomically(bytes, to: output)
        print("wrote \(output) (\(grouped(bytes.count)) bytes, \(part.rawValue) graph of '\(loaded.model.spec.name)', opset \(ONNXExport.opset))")
    }
}
