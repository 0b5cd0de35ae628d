import ArgumentParser
import Bottleneck
import Foundation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "One self-contained HTML page about a model: card, training curves, reconstructions, code space, anomalies.",
        discussion: """
        The page has no scripts and fetches nothing: charts are inline SVG, images inline PNG.
        It shows the sections that apply: the model card (layers as summary prints them, the
        training configuration, the file's size and sha256); loss curves with the best epoch
        marked (the curve after it comes from the training checkpoint when it is beside the
        file); eval's figures with the best and worst reconstructions, or a per-feature error
        table for tables; PCA and t-SNE maps of the codes coloured by label, and each code
        unit's spread with dead units flagged; for a stored detector, detect's figures, the
        score histogram, ROC and precision-recall curves and the top anomalies; for VAE and
        AAE models, prior samples and an interpolation; with --rate-distortion, the
        rate-distortion curve beside JPEG's.

        Without --data, a model of 1x28x28 images is reported on Fashion-MNIST's test split;
        other models get the card and the training section only.

        Examples:
          bottleneck report --model model.safetensors -o report.html
          bottleneck report --model t.safetensors --data test.csv --label-column anomaly -o t.html
          bottleneck train --epochs 20 --report live.html   # rewritten as training goes
        """)

    @OptionGroup var memory: MemoryOptions
    @Option(name: .long, help: "Model file.") var model: String
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Fashion-MNIST split to report on when no --data is given: test (default) or train.") var split = FashionMNIST.Split.test
    @Option(name: [.short, .long], help: "HTML file to write.") var output = "report.html"
    @Option(name: .long, help: "Codes drawn in the code-space maps.") var mapSamples = 1000
    @Flag(name: .long, help: "Skip the t-SNE map (the PCA map stays).") var noTsne = false
    @Flag(name: .long, help: "Images: add the rate-distortion curve of the codes at 1-8 bits beside JPEG's (on 500 images).") var rateDistortion = false

    func validate() throws {
        guard mapSamples >= 4 else { throw ValidationError("--map-samples must be at least 4, got \(mapSamples)") }
        guard output.lowercased().hasSuffix(".html") || output.lowercased().hasSuffix(".htm") else {
            throw ValidationError("-o/--output \(output): use a .html file name")
        }
    }

    func run() throws {
        try checkWritable(output, flag: "-o/--output")
        let loaded = try TrainedModel.load(model, memoryLimit: memory.maxModelMemory)
        var data: Dataset?, anomalies: [Bool]?
        if dataOptions.data != nil || loaded.model.inputShape == [1, 28, 28] {
            data = try loaded.data(dataOptions, split: split)
            // Windows take their rows' labels, as in detect.
            if dataOptions.window != nil, loaded.detector != nil {
                let normal = loaded.detector?.normalClasses.map(Set.init) ?? loaded.classes.map(Set.init)
                anomalies = try dataOptions.groundTruth(data!, table: try dataOptions.csvTable(), normal: normal, explicit: false)
            }
        }
        var options = ReportOptions()
        options.mapSamples = mapSamples
        options.tsne = !noTsne
        options.rateDistortion = rateDistortion
        let report = try ModelReport(bundle: loaded, modelPath: model, data: data, anomalies: anomalies, options: options)
        let page = ReportPage.html(report)
        try writeText(page, to: output)
        print("wrote \(output) (\(grouped(page.utf8.count)) bytes)")
        for note in report.notes { print("note: " + note) }
    }
}

/// Refuses an output path whose folder is missing or cannot be written, before any work is done;
/// the error names the flag.
func checkWritable(_ path: String, flag: String) throws {
    do { try checkFolderWritable(of: path) } catch let e as BottleneckError { throw BottleneckError("\(flag) \(e.message)") }
}
