import Foundation
import BottleneckCore
import BottleneckData
import BottleneckTraining

/// The report page of a training run (`train --report`), rewritten after each save from the
/// saved best model and the history so far, on up to 1000 samples of the validation data (else
/// of the training data). Pages in progress reload themselves and skip the t-SNE map; the last
/// one is complete:
///
///     let live = LiveReport(path: "run.html", session: session)
///     session.onSave = { try live.write(final: false) }
///     try session.run()
///     try live.write(final: true)
public struct LiveReport {
    public let path: String
    public let session: TrainingSession
    /// The samples every page is computed on, scaled as for training.
    public let data: Dataset

    public init(path: String, session: TrainingSession) {
        self.path = path
        self.session = session
        let pool = session.validation ?? session.train
        let n = min(1000, pool.count)
        data = pool.subset((0..<n).map { $0 * pool.count / n })
    }

    /// Writes the page atomically; nothing before the first save.
    public func write(final: Bool) throws {
        guard FileManager.default.fileExists(atPath: session.outputPath) else { return }
        let saved = try TrainedModel.load(session.outputPath)
        var options = ReportOptions()
        options.live = !final
        options.tsne = final
        let what = session.validation != nil ? "validation" : "training"
        var report = try ModelReport(bundle: saved, modelPath: session.outputPath, data: data, history: session.bundle.history, options: options)
        report.notes.insert("data: \(data.count) samples of the \(what) data, scaled as for training", at: 0)
        try writeAtomically(Data(ReportPage.html(report).utf8), to: path)
    }
}
