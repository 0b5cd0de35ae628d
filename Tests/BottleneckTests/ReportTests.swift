import XCTest
import Foundation
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// `bottleneck report` (issue 17): the page's figures are the commands' figures, the page renders
/// in a real browser, t-SNE is right, and bad input gets one line.
final class ReportTests: TemporaryDirectoryTestCase {
    override var directoryPrefix: String { "bn-report" }
    let tabular = fixturesDirectory.appendingPathComponent("tabular/iris").path

    // MARK: t-SNE

    func testTSNEGradientMatchesCentralDifferences() throws {
        let data = randn([12, 5], seed: 3)
        let p = TSNE.affinities(data, perplexity: 3)
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-6, "joint affinities sum to 1")
        let rng = RandomGenerator(seed: 4)
        let y = (0..<24).map { _ in Double(rng.normal()) }
        var gradient = [Double](repeating: 0, count: 24), scratch: [Double] = []
        _ = TSNE.klDivergence(p, y, n: 12, gradient: &gradient, kernel: &scratch)
        let h = 1e-5
        for k in 0..<24 {
            var plus = y, minus = y, unused = gradient
            plus[k] += h
            minus[k] -= h
            let numeric = (TSNE.klDivergence(p, plus, n: 12, gradient: &unused, kernel: &scratch)
                           - TSNE.klDivergence(p, minus, n: 12, gradient: &unused, kernel: &scratch)) / (2 * h)
            XCTAssertEqual(gradient[k], numeric, accuracy: 1e-6 + 1e-4 * Swift.abs(numeric), "coordinate \(k)")
        }
    }

    func testTSNEKeepsClustersApartAndIsDeterministic() throws {
        // Three tight clusters far apart in 10-D: each point's nearest neighbours in the map are its own cluster's.
        let n = 90, d = 10
        let x = Tensor(shape: [n, d])
        let noise = randn([n, d], seed: 5)
        for i in 0..<n { for j in 0..<d { x.data[i * d + j] = (j == i % 3 ? 10 : 0) + 0.5 * noise.data[i * d + j] } }
        let map = try TSNE(perplexity: 10, iterations: 500).embed(x)
        var agree = 0
        for i in 0..<n {
            let near = (0..<n).filter { $0 != i }.sorted {
                hypot(map[$0].0 - map[i].0, map[$0].1 - map[i].1) < hypot(map[$1].0 - map[i].0, map[$1].1 - map[i].1)
            }.prefix(5)
            agree += near.filter { $0 % 3 == i % 3 }.count
        }
        XCTAssertGreaterThanOrEqual(Double(agree) / Double(5 * n), 0.98)
        let again = try TSNE(perplexity: 10, iterations: 500).embed(x)
        XCTAssertTrue(zip(map, again).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }, "the same data gives the same map")
    }

    func testPrecisionRecallCurveSumsToAveragePrecision() throws {
        let scores: [Float] = [0.9, 0.8, 0.8, 0.7, 0.4, 0.3, 0.2, 0.1]
        let anomalies = [true, false, true, true, false, false, true, false]
        let curve = try DetectionMetrics.precisionRecallCurve(scores: scores, anomalies: anomalies)
        XCTAssertEqual(curve.recalls, [0.25, 0.5, 0.75, 0.75, 0.75, 1, 1])
        XCTAssertEqual(curve.precisions[1], 2.0 / 3.0, accuracy: 1e-12, "the tie at 0.8 is one threshold")
        XCTAssertEqual(curve.positiveShare, 0.5)
        var sum = 0.0, previous = 0.0
        for (r, p) in zip(curve.recalls, curve.precisions) { sum += (r - previous) * p; previous = r }
        XCTAssertEqual(sum, try DetectionMetrics.averagePrecision(scores: scores, anomalies: anomalies), accuracy: 1e-12)
    }

    // MARK: the page against the commands

    /// Every `data-metric` cell of a page: name to text.
    func metrics(_ html: String) throws -> [String: String] {
        let regex = try NSRegularExpression(pattern: "data-metric=\"([a-z0-9-]+)\">([^<]*)<")
        var out: [String: String] = [:]
        for m in regex.matches(in: html, range: NSRange(html.startIndex..., in: html)) {
            out[String(html[Range(m.range(at: 1), in: html)!])] = String(html[Range(m.range(at: 2), in: html)!])
        }
        return out
    }

    func cli(_ args: [String]) throws -> String {
        let r = try runCLI(args, in: dir)
        XCTAssertEqual(r.status, 0, "\(args): \(r.err)")
        return r.out
    }

    /// The figure after `label` on the line of `text` that starts with it.
    func printed(_ text: String, _ label: String, _ pattern: String = "(\\S+)") throws -> String? {
        let regex = try NSRegularExpression(pattern: "^" + NSRegularExpression.escapedPattern(for: label) + "\\s+" + pattern, options: .anchorsMatchLines)
        guard let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        return String(text[Range(m.range(at: 1), in: text)!])
    }

    func testEveryFigureOnThePageIsWhatEvalDetectAndSummaryPrint() throws {
        let data = ["--data", "\(tabular)/test.csv", "--label-column", "anomaly"]
        _ = try cli(["train", "--data", "\(tabular)/train.csv", "--label-column", "anomaly", "--epochs", "200", "-o", "m.safetensors"])
        _ = try cli(["detect", "--model", "m.safetensors", "--fit", "--train-data", "\(tabular)/train.csv"] + data)
        let eval = try cli(["eval", "--model", "m.safetensors"] + data)
        let detect = try cli(["detect", "--model", "m.safetensors"] + data)
        let summary = try cli(["summary", "--model", "m.safetensors"])
        let out = try cli(["report", "--model", "m.safetensors", "-o", "r.html"] + data)
        XCTAssertTrue(out.contains("wrote r.html"))
        let page = try metrics(String(contentsOfFile: dir + "/r.html", encoding: .utf8))

        for key in ["mse", "rmse", "l1", "bce"] { XCTAssertEqual(page[key], try printed(eval, key), key) }
        XCTAssertEqual(page["psnr"], try printed(eval, "psnr", "(\\S+ dB)"))
        XCTAssertEqual(page["samples"], try printed(eval, "samples"))
        XCTAssertEqual(page["threshold"], try printed(detect, "threshold"))
        XCTAssertEqual(page["flagged"], try printed(detect, "flagged", "(.+)$"))
        XCTAssertEqual(page["auroc"], try printed(detect, "AUROC"))
        XCTAssertEqual(page["auprc"], firstMatch(detect, "AUPRC (\\S+)"))
        for (key, label) in [("precision", "precision"), ("recall", "recall"), ("f1", "F1"), ("fpr", "false-positive rate")] {
            XCTAssertEqual(page[key], firstMatch(detect, "at the threshold: .*\(label) (\\S+)"), key)
        }
        XCTAssertEqual(page["parameters"], try printed(summary, "Total params:"))
        XCTAssertEqual(page["compression"], firstMatch(summary, "Compression: .*\\((\\S+)\\)"))
        XCTAssertEqual(page.count, 17, "every figure compared: \(page.keys.sorted())")
    }

    /// Windows of a series take their rows' labels in the report as in detect.
    func testWindowedSeriesGetTheSameDetectionFiguresAsDetect() throws {
        func series(_ rows: Int, spikes: [Int], phase: Double) -> String {
            var text = "a,b,anomaly\n"
            for t in 0..<rows {
                let x = Double(t) + phase, spike = spikes.contains(t)
                text += String(format: "%.5f,%.5f,%d\n", sin(x / 5) + (spike ? 3 : 0), cos(x / 7), spike ? 1 : 0)
            }
            return text
        }
        try series(400, spikes: [], phase: 0).write(toFile: dir + "/train.csv", atomically: true, encoding: .utf8)
        try series(200, spikes: [50, 120, 170], phase: 400).write(toFile: dir + "/test.csv", atomically: true, encoding: .utf8)
        let windows = ["--label-column", "anomaly", "--window", "16"]
        _ = try cli(["train", "--data", "train.csv", "--preset", "dense", "--code-size", "4", "--epochs", "30", "-o", "w.safetensors"] + windows)
        _ = try cli(["detect", "--model", "w.safetensors", "--data", "train.csv", "--fit", "--percentile", "99"] + windows)
        let detect = try cli(["detect", "--model", "w.safetensors", "--data", "test.csv"] + windows)
        _ = try cli(["report", "--model", "w.safetensors", "--data", "test.csv", "-o", "w.html"] + windows)
        let page = try metrics(String(contentsOfFile: dir + "/w.html", encoding: .utf8))
        XCTAssertNotNil(page["auroc"], "the windows' labels came through")
        XCTAssertEqual(page["auroc"], firstMatch(detect, "AUROC (\\S+)"))
        XCTAssertEqual(page["flagged"], firstMatch(detect, "flagged (.+)"))
        XCTAssertEqual(page["anomalies"], firstMatch(detect, "ground truth: (\\d+) anomalies"))
    }

    func firstMatch(_ text: String, _ pattern: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        return String(text[Range(m.range(at: 1), in: text)!])
    }

    /// The layer table of a VAE: the decoder takes the code (the mean), not the encoder's mean and
    /// log-variance side by side (`summary --model` failed on VAEs before).
    func testTheLayerTableOfAVAEFeedsTheCodeToTheDecoder() throws {
        let spec = Variants.adapt(try Preset.dense.spec(inputShape: [1, 28, 28], codeSize: 8), to: VariantSpec(.vae()))
        let vae = try Autoencoder(spec: spec, inputShape: [1, 28, 28], rng: RandomGenerator(seed: 0))
        let rows = try vae.layerRows()
        let code = rows.firstIndex { $0.path == "code" }!
        XCTAssertEqual(rows[code - 1].outputShape, [16], "mean and log-variance")
        XCTAssertEqual(rows[code].outputShape, [8])
        XCTAssertEqual(rows.last!.outputShape, [1, 28, 28])
        XCTAssertEqual(rows.map(\.parameters).reduce(0, +), vae.parameterCount)
    }

    // MARK: in a browser

    /// Debian's Chromium (installed by `make test`'s set-up); nil where it is not installed outside CI.
    func chromium() throws -> String? {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: path) { return path }
        if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("chromium is not installed: scripts/setup.sh installs it") }
        return nil
    }

    /// Renders `page` headless to a PNG; returns the picture and the console lines the page logged.
    func render(_ browser: String, _ page: String, _ png: String) throws -> (Image, [String]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: browser)
        p.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                       "--user-data-dir=\(dir!)/chromium-profile", "--window-size=1200,2400", "--screenshot=\(png)", "file://\(page)"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, log)
        return (try Image.read(png), log.split(separator: "\n").filter { $0.contains(":CONSOLE") }.map(String.init))
    }

    func testTheReportOfAnImageDetectorRendersInChromiumWithoutErrors() throws {
        guard let browser = try chromium() else { throw XCTSkip("chromium is not installed (scripts/setup.sh installs it)") }
        _ = try cli(["train", "--preset", "dense", "--classes", "1", "--epochs", "2", "--validation", "0.1", "-o", "t.safetensors"])
        _ = try cli(["detect", "--model", "t.safetensors", "--fit", "--percentile", "99"])
        _ = try cli(["report", "--model", "t.safetensors", "--map-samples", "300", "-o", "t.html"])
        let html = try String(contentsOfFile: dir + "/t.html", encoding: .utf8)
        XCTAssertLessThan(html.utf8.count, 2 << 20, "under 2 MB")
        for section in ["card", "training", "reconstructions", "codes", "detection"] { XCTAssertTrue(html.contains("<section id=\"\(section)\""), section) }
        // Self-contained: no script, no stylesheet or font fetched, images and links only inline.
        XCTAssertFalse(html.contains("<script") || html.contains("<link") || html.contains("@import") || html.contains("url("))
        XCTAssertEqual(firstMatch(html, "src=\"(?!data:)([^\"]*)\""), nil)
        XCTAssertEqual(firstMatch(html, "href=\"(?!#)([^\"]*)\""), nil)

        let (shot, console) = try render(browser, dir + "/t.html", dir + "/t.png")
        XCTAssertEqual(console, [], "the page logged nothing")
        XCTAssertEqual(shot.width, 1200)
        // Not blank: a real share of the picture is ink, in many colours (charts, images, text).
        var ink = 0, colours = Set<Int>()
        for i in 0..<(shot.width * shot.height) {
            let px = (0..<shot.channels).map { Int(shot.pixels[i * shot.channels + $0]) }
            if px.prefix(3).contains(where: { $0 < 200 }) { ink += 1 }
            colours.insert(px.prefix(3).reduce(0) { $0 << 8 | $1 })
        }
        XCTAssertGreaterThan(Double(ink) / Double(shot.width * shot.height), 0.03, "ink on the page")
        XCTAssertGreaterThan(colours.count, 200, "colours on the page")

        // The check can fail: a page with a script error logs a console line.
        try "<html><body><script>missing()</script></body></html>".write(toFile: dir + "/bad.html", atomically: true, encoding: .utf8)
        XCTAssertFalse(try render(browser, dir + "/bad.html", dir + "/bad.png").1.isEmpty)
    }

    // MARK: training and bad input

    func testTrainReportIsCompleteWhenTrainingEnds() throws {
        _ = try cli(["train", "--data", "\(tabular)/train.csv", "--label-column", "anomaly", "--epochs", "30", "--report", "live.html", "-o", "m.safetensors"])
        let html = try String(contentsOfFile: dir + "/live.html", encoding: .utf8)
        XCTAssertFalse(html.contains("http-equiv=\"refresh\""), "the last page does not reload itself")
        XCTAssertTrue(html.contains("30 epochs"), "the whole history")
        XCTAssertTrue(html.contains("<section id=\"reconstructions\""))
        let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/m.safetensors"))
        XCTAssertTrue(html.contains(SHA256.hexDigest(bytes)), "the card names the model file it reports")

        // A page written while training runs reloads itself and says how far it is.
        let bundle = try TrainedModel.load(dir + "/m.safetensors")
        var options = ReportOptions()
        options.live = true
        let live = ReportPage.html(try ModelReport(bundle: bundle, modelPath: nil, data: nil, options: options))
        XCTAssertTrue(live.contains("http-equiv=\"refresh\"") && live.contains("Training in progress: epoch"))
    }

    /// What `train --report` hangs on: the session calls `onSave` after every save, here every
    /// epoch (interval 0), with the saved file and the history so far in place.
    func testTheSessionCallsOnSaveAfterEverySave() throws {
        let rows = DataDefaultsTests.rows(64, features: 6)
        var config = TrainingConfig()
        config.epochs = 4
        var request = TrainingRequest(outputPath: dir + "/s.safetensors", architecture: try Preset.dense.spec(inputShape: [6], codeSize: 2), config: config)
        request.saveInterval = 0
        let session = try TrainingSession(request, data: rows)
        var seen: [Int] = []
        session.onSave = {
            XCTAssertTrue(FileManager.default.fileExists(atPath: session.outputPath))
            seen.append(session.bundle.history.count)
        }
        try session.run()
        XCTAssertEqual(seen, [1, 2, 3, 4, 4], "each epoch's save, then the final one")
    }

    func testBadInputGetsOneLine() throws {
        _ = try cli(["train", "--data", "\(tabular)/train.csv", "--label-column", "anomaly", "--epochs", "5", "-o", "m.safetensors"])
        // Data that does not fit the model.
        try expectCLIError(["report", "--model", "m.safetensors", "--data", fixturesDirectory.appendingPathComponent("tabular/wine/test.csv").path,
                            "--label-column", "anomaly", "-o", "r.html"], in: dir, ["wine/test.csv", "do not fit"])
        // An output that cannot be written, refused before any work.
        try expectCLIError(["report", "--model", "m.safetensors", "-o", "no-such-folder/r.html"], in: dir, ["-o/--output", "no-such-folder", "does not exist"])
        try expectCLIError(["report", "--model", "m.safetensors", "-o", "r.pdf"], in: dir, ["-o/--output", ".html"])
        try expectCLIError(["train", "--data", "\(tabular)/train.csv", "--epochs", "1", "--report", "gone/r.html", "-o", "n.safetensors"], in: dir, ["--report", "gone"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/n.safetensors"), "nothing trained for a report that cannot be written")
        try expectCLIError(["report", "--model", "missing.safetensors"], in: dir, ["missing.safetensors"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r.html"))

        // A model without history: a page without curves, and one line saying so.
        let m = try Autoencoder(spec: try Preset.dense.spec(inputShape: [4], codeSize: 2), inputShape: [4], rng: RandomGenerator(seed: 0))
        try TrainedModel(model: m).save(to: dir + "/bare.safetensors")
        let r = try runCLI(["report", "--model", "bare.safetensors", "-o", "bare.html"], in: dir)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out.split(separator: "\n").filter { $0.contains("no history") }.count, 1, r.out)
        XCTAssertTrue(try String(contentsOfFile: dir + "/bare.html", encoding: .utf8).contains("No training history"))
    }
}
