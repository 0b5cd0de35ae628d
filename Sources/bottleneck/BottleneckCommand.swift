import ArgumentParser
import Bottleneck
import Foundation

@main
struct BottleneckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bottleneck",
        abstract: "Build, train, inspect and use autoencoders.",
        discussion: """
        Data defaults to Fashion-MNIST (Debian's dataset-fashion-mnist). Models are safetensors files
        whose metadata holds the architecture, so PyTorch can read the weights.

        Start with:  bottleneck demo
        """,
        version: BottleneckVersion.current,
        subcommands: [Demo.self, Train.self, Eval.self, Reconstruct.self, Encode.self, Decode.self, Generate.self, Interpolate.self,
                      Summary.self, PCACommand.self, Detect.self, Score.self, Serve.self, Denoise.self, Inpaint.self, Colorize.self, Unwatermark.self,
                      PatchesCommand.self, Index.self, Search.self, ProbeCommand.self, Compress.self, Decompress.self, Export.self, Import.self, Report.self, Bench.self, Compare.self])

    /// Allocator tuning first (training re-allocates the same large buffers every step), then the
    /// command; any error ends it with one line (`exitReporting`).
    static func main() {
        MemoryTuning.keepFreedMemory()
        do {
            if let problem = GEMMBackend.environmentProblem ?? ConvolutionChoice.environmentProblem { throw BottleneckError(problem) }
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exitReporting(error)
        }
    }
}
