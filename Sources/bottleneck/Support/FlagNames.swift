import ArgumentParser
import Bottleneck
import Foundation

/// The command-line flag of each configuration field the library names in its errors: the one
/// place where library fields meet flag spellings.
func flagName(_ field: ConfigField) -> String {
    switch field {
    case .epochs: return "--epochs"
    case .batchSize: return "--batch-size"
    case .learningRate: return "--lr"
    case .optimizer: return "--optimizer"
    case .momentum: return "--momentum"
    case .nesterov: return "--nesterov"
    case .weightDecay: return "--weight-decay"
    case .schedule: return "--schedule"
    case .clipNorm: return "--clip-norm"
    case .historySize: return "--history-size"
    case .gradientTolerance: return "--gradient-tolerance"
    case .stepTolerance: return "--step-tolerance"
    case .seed: return "--seed"
    case .validationFraction: return "--validation"
    case .patience: return "--patience"
    case .loss: return "--loss"
    case .preset: return "--preset"
    case .architecture: return "the architecture (--preset, --arch, --code-size, --linear-code)"
    case .codeSize: return "--code-size"
    case .variant: return "--variant"
    case .noise: return "--noise"
    case .prior: return "--prior"
    case .variantOption(let key):
        let flags = ["noise": "--noise", "penalty": "--sparsity", "rate": "--rate", "weight": "--penalty-weight",
                     "method": "--contractive-method", "beta": "--beta", "warmup_steps": "--kl-warmup", "likelihood": "--likelihood",
                     "prior": "--prior", "consistency": "--consistency", "text": "--watermark-text", "opacity": "--opacity",
                     "scale": "--watermark-scale"]
        return flags[key] ?? field.name  // knobs without a flag are set in an architecture file
    case .data: return "--data"
    case .labels: return "--labels"
    case .labelColumn: return "--label-column"
    case .imageSize: return "--image-size"
    case .window: return "--window"
    case .stride: return "--stride"
    case .scaling: return "--scaling"
    case .classes: return "--classes"
    case .normalClasses: return "--normal-classes"
    case .maxIterations: return "--max-iterations"
    case .l2: return "--l2"
    case .bits: return "--bits"
    case .rect: return "--rect"
    case .metric: return "--metric"
    case .downscale: return "--downscale"
    case .components: return "--components"
    case .score: return "--score"
    case .elboSamples: return "--elbo-samples"
    case .contamination: return "--contamination"
    case .percentile: return "--percentile"
    case .sigma: return "--sigma"
    case .threshold: return "--threshold"
    case .resume: return "--resume"
    case .maxModelMemory: return "--max-model-memory"
    case .models: return "--models"
    case .host: return "--host"
    case .port: return "--port"
    case .tokenFile: return "--token-file"
    case .maxBodySize: return "--max-body-size"
    case .maxRows: return "--max-rows"
    case .maxJSONDepth: return "--max-json-depth"
    case .requestTimeout: return "--request-timeout"
    case .queueDepth: return "--queue-depth"
    case .maxBatchRows: return "--max-batch"
    case .batchDelay: return "--batch-delay"
    case .reloadInterval: return "--reload-interval"
    }
}

/// A library error as the command line shows it: the field named by its flag.
func commandLineMessage(_ error: BottleneckError) -> String { error.message(naming: flagName) }

extension BottleneckCommand {
    /// Prints `error` as one line on standard error ("Error: ..." naming the flag or file) and
    /// exits with status 1; help and version requests print as ArgumentParser prints them.
    static func exitReporting(_ error: Error) -> Never {
        if exitCode(for: error) == .success { exit(withError: error) }
        let text = (error as? BottleneckError).map(commandLineMessage) ?? message(for: error)
        let line = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: " ")
        FileHandle.standardError.write(Data("Error: \(line)\n".utf8))
        Foundation.exit(1)
    }
}
