import Bottleneck
import Foundation

/// Progress output: a live bar on a terminal, one plain line per epoch otherwise.
struct ProgressPrinter {
    let interactive = isatty(STDOUT_FILENO) != 0
    var lastDraw = Date.distantPast
    /// Print every `every`th epoch (and the first and last): long runs of small data have
    /// hundreds of epochs, all of them in the JSONL log anyway.
    var every = 1
    var epochs = 0

    /// Progress of a run of `epochs` epochs, printing about 50 epoch lines at most.
    init(epochs: Int) {
        self.epochs = epochs
        every = max(1, (epochs + 49) / 50)
    }

    mutating func batch(_ p: BatchProgress) {
        guard interactive, p.batch == p.batches || Date().timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = Date()
        let width = 24, done = width * p.batch / max(p.batches, 1)
        let bar = String(repeating: "=", count: done) + (done < width ? ">" : "") + String(repeating: " ", count: max(0, width - done - 1))
        let eta = p.samplesPerSecond > 0 ? p.elapsed / Double(p.batch) * Double(p.batches - p.batch) : 0
        let line = String(format: "epoch %d/%d [%@] %d/%d loss %.5f %@ samples/s ETA %@",
                          p.epoch, p.epochs, bar, p.batch, p.batches, p.loss, formatCount(p.samplesPerSecond), formatDuration(eta))
        FileHandle.standardOutput.write(Data(("\r" + line + "\u{1B}[K").utf8))
    }

    func epoch(_ r: EpochRecord) {
        if interactive { FileHandle.standardOutput.write(Data("\r\u{1B}[K".utf8)) }
        guard r.epoch == 1 || r.epoch % every == 0 || r.epoch == epochs else { return }
        var line = String(format: "epoch %d  train loss %.6f", r.epoch, r.trainLoss)
        if let v = r.validationLoss { line += String(format: "  validation loss %.6f", v) }
        for (k, v) in r.parts.sorted(by: { $0.key < $1.key }) { line += String(format: "  %@ %.4f", k, v) }
        line += String(format: "  %.1fs  %@ samples/s", r.seconds, formatCount(r.samplesPerSecond))
        print(line)
        fflush(stdout)
    }
}

func formatCount(_ x: Double) -> String {
    x >= 1e6 ? String(format: "%.2fM", x / 1e6) : x >= 1e3 ? String(format: "%.1fk", x / 1e3) : String(format: "%.0f", x)
}

func formatDuration(_ s: Double) -> String {
    s >= 3600 ? String(format: "%dh%02dm", Int(s) / 3600, Int(s) % 3600 / 60) : s >= 60 ? String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60) : String(format: "%.0fs", s)
}

/// Writes text to a file atomically, e.g. metrics JSON.
func writeText(_ text: String, to path: String) throws { try writeAtomically(Data(text.utf8), to: path) }

func prettyJSON<T: Encodable>(_ value: T) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys]
    return String(decoding: try e.encode(value), as: UTF8.self)
}
