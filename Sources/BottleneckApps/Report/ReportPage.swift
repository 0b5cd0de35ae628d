import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// A `ModelReport` as one self-contained HTML page: inline CSS, SVG charts and PNG images as
/// data URIs, no script, no font or file fetched. Figures shown as `eval`, `detect` and
/// `summary` print them carry a `data-metric` attribute naming the figure, so a test can set
/// them beside the commands' output.
public enum ReportPage {
    public static func html(_ r: ModelReport) -> String {
        var page = Page()
        let c = r.card
        page.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        if r.live { page.raw("<meta http-equiv=\"refresh\" content=\"10\">\n") }
        page.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        page.raw("<title>\(escape(c.name)) - Bottleneck report</title>\n<style>\(style)</style>\n</head>\n<body>\n")
        page.raw("<header><h1>\(escape(c.name))</h1><p class=\"sub\">")
        page.text("\(c.variant) autoencoder, \(grouped(c.parameters)) parameters, input \(formatShape(c.inputShape)) to code \(formatShape(c.codeShape))")
        if let path = c.path { page.text(" · \(URL(fileURLWithPath: path).lastPathComponent)") }
        page.raw("</p>")
        if r.live, let t = r.training {
            let last = t.history.last!
            page.raw("<p class=\"live\">Training in progress: epoch \(last.epoch)"
                     + (r.card.training.first { $0.0 == "epochs" }.map { " of \($0.1)" } ?? "") + ". This page reloads itself every 10 seconds.</p>")
        }
        var sections = [("card", "Model"), ("training", "Training")]
        if r.reconstruction != nil { sections.append(("reconstructions", "Reconstructions")) }
        if r.codes != nil { sections.append(("codes", "Code space")) }
        if r.detection != nil { sections.append(("detection", "Anomalies")) }
        if r.generation != nil { sections.append(("generation", "Samples")) }
        if r.rateDistortion != nil { sections.append(("compression", "Compression")) }
        page.raw("<nav>" + sections.map { "<a href=\"#\($0.0)\">\($0.1)</a>" }.joined(separator: " ") + "</nav></header>\n<main>\n")
        card(&page, c)
        training(&page, r.training)
        if let s = r.reconstruction { reconstruction(&page, s) }
        if let s = r.codes { codes(&page, s) }
        if let s = r.detection { detection(&page, s) }
        if let s = r.generation { generation(&page, s) }
        if let points = r.rateDistortion { compression(&page, points, name: c.name) }
        if !r.notes.isEmpty {
            page.raw("<section id=\"notes\"><h2>Notes</h2><ul>")
            for n in r.notes { page.raw("<li>\(escape(n))</li>") }
            page.raw("</ul></section>\n")
        }
        page.raw("</main>\n<footer>Made by Bottleneck \(escape(c.version)) (bottleneck report).</footer>\n</body>\n</html>\n")
        return page.body
    }

    // MARK: sections

    static func card(_ page: inout Page, _ c: ModelCard) {
        page.raw("<section id=\"card\"><h2>Model</h2>\n<table class=\"facts\">")
        func fact(_ name: String, _ value: String, metric: String? = nil) {
            page.raw("<tr><th>\(escape(name))</th><td" + (metric.map { " data-metric=\"\($0)\"" } ?? "") + ">\(escape(value))</td></tr>")
        }
        fact("architecture", c.name)
        fact("variant", c.variant)
        fact("parameters", grouped(c.parameters), metric: "parameters")
        fact("encoder / decoder", "\(grouped(c.encoderParameters)) / \(grouped(c.decoderParameters))")
        fact("input shape", formatShape(c.inputShape))
        fact("code shape", formatShape(c.codeShape))
        fact("compression", String(format: "%.1fx", c.compressionRatio), metric: "compression")
        fact("input scaling", c.scaling)
        if let f = c.featureNames { fact("features", f.count <= 12 ? f.joined(separator: ", ") : "\(f.count): " + f.prefix(12).joined(separator: ", ") + ", ...") }
        if let k = c.classes { fact("trained on classes", k.map(String.init).joined(separator: ", ")) }
        if let d = c.dataDefaults { fact("chosen by train", d) }
        if let d = c.detector { fact("detector", d) }
        if let p = c.path { fact("file", p) }
        if let b = c.bytes { fact("file size", "\(grouped(b)) bytes") }
        if let h = c.sha256 { fact("sha256", h) }
        if let m = c.modified { fact("file modified", ISO8601DateFormatter().string(from: m)) }
        fact("Bottleneck", c.version)
        page.raw("</table>\n")
        if !c.training.isEmpty {
            page.raw("<h3>Training configuration</h3><table class=\"facts\">")
            for (k, v) in c.training { fact(k, v) }
            page.raw("</table>\n")
        }
        page.raw("<h3>Layers</h3><table class=\"layers\"><thead><tr><th>Layer</th><th>Type</th><th>Output shape</th><th class=\"n\">Param #</th></tr></thead><tbody>")
        for row in c.layers {
            let marker = row.path == "input" || row.path == "code" ? " class=\"mark\"" : ""
            page.raw("<tr\(marker)><td>\(escape(row.path))</td><td>\(escape(row.kind))</td><td>\(formatShape(row.outputShape))</td><td class=\"n\">\(grouped(row.parameters))</td></tr>")
        }
        page.raw("</tbody></table></section>\n")
    }

    static func training(_ page: inout Page, _ t: TrainingCurves?) {
        page.raw("<section id=\"training\"><h2>Training</h2>\n")
        guard let t else {
            page.raw("<p>No training history in the model file.</p></section>\n")
            return
        }
        let h = t.history
        var series = [Charts.Series("training loss", h.map(\.trainLoss), colour: Charts.palette[0])]
        if h.contains(where: { $0.validationLoss != nil }) {
            series.append(Charts.Series("validation loss", h.map { $0.validationLoss ?? .nan }, colour: Charts.palette[1]))
        }
        let marker = t.bestEpoch.map { (x: $0, label: "best epoch \($0)") }
        var charts = [Charts.lineChart(series, title: "Loss per epoch", xLabel: "epoch", yLabel: "loss", marker: marker)]
        let rates = h.map { Double($0.learningRate) }
        if Set(rates).count > 1 {
            charts.append(Charts.lineChart([Charts.Series("learning rate", rates, colour: Charts.palette[2])], title: "Learning rate",
                                           xLabel: "epoch", yLabel: "learning rate"))
        }
        let parts = Set(h.flatMap(\.parts.keys)).sorted()
        if !parts.isEmpty {
            let s = parts.enumerated().map { k, name in Charts.Series(name, h.map { $0.parts[name] ?? .nan }, colour: Charts.palette[(k + 3) % 10]) }
            charts.append(Charts.lineChart(s, title: "Terms of the objective", xLabel: "epoch", yLabel: "value", marker: marker))
        }
        if h.count > 1 { page.charts(charts) }  // one epoch is a point, said below in words
        let best = t.bestEpoch.flatMap { b in h.first { $0.epoch == b } }
        page.raw("<p>\(h.count) epoch\(h.count == 1 ? "" : "s")")
        if let best {
            page.text(String(format: "; the file holds epoch %d's weights: training loss %.6f", best.epoch, best.trainLoss)
                      + (best.validationLoss.map { String(format: ", validation loss %.6f", $0) } ?? ""))
        }
        page.raw(".</p></section>\n")
    }

    static func reconstruction(_ page: inout Page, _ s: ReconstructionSection) {
        page.raw("<section id=\"reconstructions\"><h2>Reconstructions</h2>\n<p>")
        page.text("On \(s.metrics.samples) samples of \(s.source) (as bottleneck eval prints):")
        page.raw("</p><table class=\"metrics\"><tr>")
        let m = s.metrics
        var cells = [("samples", "samples", "\(m.samples)"), ("mse", "MSE", String(format: "%.6f", m.mse)), ("rmse", "RMSE", String(format: "%.6f", m.rmse)),
                     ("psnr", "PSNR", String(format: "%.2f dB", m.psnr)), ("l1", "L1", String(format: "%.6f", m.l1))]
        if let bce = m.bce { cells.append(("bce", "BCE", String(format: "%.6f", bce))) }
        if let e = m.negativeELBO { cells.append(("elbo", "−ELBO per sample", String(format: "%.2f", e))) }
        if let kl = m.kl { cells.append(("kl", "KL", String(format: "%.2f", kl))) }
        for (_, name, _) in cells { page.raw("<th>\(escape(name))</th>") }
        page.raw("</tr><tr>")
        for (key, _, value) in cells { page.raw("<td data-metric=\"\(key)\">\(escape(value))</td>") }
        page.raw("</tr></table>\n")
        page.charts([Charts.scoreHistogram(scores: s.sampleErrors.map(Float.init), anomalies: nil, threshold: nil,
                                           scoreName: "per-sample MSE", title: "Reconstruction error per sample")])
        for (title, png, note) in [("Evenly spaced samples", s.random, ""),
                                   ("Best reconstructed", s.best, "samples " + s.bestIndices.map(String.init).joined(separator: ", ")),
                                   ("Worst reconstructed", s.worst, "samples " + s.worstIndices.map(String.init).joined(separator: ", "))] {
            guard let png else { continue }
            page.raw("<figure><figcaption>\(escape(title)): originals (top) over reconstructions (bottom)"
                     + (note.isEmpty ? "" : "; \(escape(note))") + "</figcaption>")
            page.image(png, alt: title)
            page.raw("</figure>\n")
        }
        if let f = s.featureErrors {
            let top = f.map(\.mse).max() ?? 1
            page.raw("<h3>Error per feature</h3><table class=\"features\"><thead><tr><th>feature</th><th class=\"n\">MSE (scaled)</th><th></th></tr></thead><tbody>")
            for (name, e) in f.sorted(by: { $0.mse > $1.mse }) {
                let w = top > 0 ? Int((e / top * 200).rounded()) : 0
                page.raw("<tr><td>\(escape(name))</td><td class=\"n\">\(String(format: "%.6f", e))</td><td><span class=\"bar\" style=\"width:\(w)px\"></span></td></tr>")
            }
            page.raw("</tbody></table>\n")
        }
        page.raw("</section>\n")
    }

    static func codes(_ page: inout Page, _ s: CodeSpace) {
        page.raw("<section id=\"codes\"><h2>Code space</h2>\n<p>")
        page.text("\(s.indices.count) codes of \(s.codeSize) values" + (s.labels != nil ? ", coloured by label" : "") + ".")
        page.raw("</p>\n")
        let groups = s.labels
        let names = s.labelNames
        var charts: [String] = []
        let pcaTitle = s.explained.count == 2 ? String(format: "PCA of the codes (%.0f%% and %.0f%% of the variance)", 100 * s.explained[0], 100 * s.explained[1]) : "The codes"
        charts.append(Charts.scatter(s.pca, groups: groups, groupNames: names, title: pcaTitle, xLabel: "component 1", yLabel: "component 2"))
        if let t = s.tsne {
            charts.append(Charts.scatter(t, groups: groups, groupNames: names, title: "t-SNE of the codes (perplexity 30)", xLabel: "t-SNE 1", yLabel: "t-SNE 2"))
        }
        page.charts(charts)
        page.charts([Charts.bars(s.unitSpread, highlight: Set(s.deadUnits), highlightName: "dead (constant)", title: "Spread of each code unit",
                                 xLabel: "code unit", yLabel: "standard deviation")])
        page.raw("<p data-metric=\"dead-units\">")
        page.text(s.deadUnits.isEmpty ? "Every code unit varies." :
            "\(s.deadUnits.count) of \(s.codeSize) code units are dead (the same value for every sample): " + s.deadUnits.map(String.init).joined(separator: ", ")
            + ". A model trained with --linear-code has none.")
        page.raw("</p></section>\n")
    }

    static func detection(_ page: inout Page, _ d: DetectionSection) {
        let s = d.summary
        page.raw("<section id=\"detection\"><h2>Anomalies</h2>\n<p>")
        page.text("The stored detector on the same data (as bottleneck detect prints): \(d.scoreName) score, \(s.rule).")
        page.raw("</p><table class=\"metrics\"><tr>")
        var cells = [("threshold", "threshold", String(format: "%.6g", s.threshold)),
                     ("flagged", "flagged", String(format: "%d of %d (%.2f%%)", s.flagged, s.samples, 100 * Double(s.flagged) / Double(max(s.samples, 1))))]
        if let a = s.anomalies { cells.append(("anomalies", "anomalies (labels)", "\(a)")) }
        if let v = s.auroc { cells.append(("auroc", "AUROC", String(format: "%.4f", v))) }
        if let v = s.auprc { cells.append(("auprc", "AUPRC", String(format: "%.4f", v))) }
        if let p = s.precision, let r = s.recall, let f = s.f1, let fpr = s.falsePositiveRate {
            cells += [("precision", "precision", String(format: "%.4f", p)), ("recall", "recall", String(format: "%.4f", r)),
                      ("f1", "F1", String(format: "%.4f", f)), ("fpr", "false-positive rate", String(format: "%.4f", fpr))]
        }
        for (_, name, _) in cells { page.raw("<th>\(escape(name))</th>") }
        page.raw("</tr><tr>")
        for (key, _, value) in cells { page.raw("<td data-metric=\"\(key)\">\(escape(value))</td>") }
        page.raw("</tr></table>\n")
        var charts = [Charts.scoreHistogram(scores: d.scores, anomalies: d.anomalies, threshold: s.threshold, scoreName: "\(d.scoreName) score")]
        if let roc = d.roc { charts.append(Charts.rocCurve(roc, auroc: s.auroc, title: "ROC, \(d.scoreName) score")) }
        if let pr = d.precisionRecall { charts.append(Charts.precisionRecallCurve(pr, averagePrecision: s.auprc)) }
        page.charts(charts)
        page.raw("<h3>Highest scores</h3><table class=\"top\"><thead><tr><th class=\"n\">sample</th><th class=\"n\">score</th><th>flagged</th>")
        let labelled = d.top.contains { $0.label != nil }, explained = d.top.contains { !$0.features.isEmpty }
        if labelled { page.raw("<th class=\"n\">label</th><th>anomaly</th>") }
        if explained { page.raw("<th>largest feature errors</th>") }
        page.raw("</tr></thead><tbody>")
        for t in d.top {
            page.raw("<tr><td class=\"n\">\(t.index)</td><td class=\"n\">\(String(format: "%.6g", t.score))</td><td>\(Double(t.score) > s.threshold ? "yes" : "no")</td>")
            if labelled { page.raw("<td class=\"n\">\(t.label.map(String.init) ?? "")</td><td>\(t.anomaly.map { $0 ? "yes" : "no" } ?? "")</td>") }
            if explained { page.raw("<td>" + escape(t.features.map { "\($0.name) \(String(format: "%.4g", $0.error))" }.joined(separator: ", ")) + "</td>") }
            page.raw("</tr>")
        }
        page.raw("</tbody></table>\n")
        if let png = d.topImages {
            page.raw("<figure><figcaption>The highest-scoring samples (top) over their reconstructions (bottom)</figcaption>")
            page.image(png, alt: "highest-scoring samples")
            page.raw("</figure>\n")
        }
        page.raw("</section>\n")
    }

    static func generation(_ page: inout Page, _ g: GenerationSection) {
        page.raw("<section id=\"generation\"><h2>Samples</h2>\n<figure><figcaption>Decoded draws from the prior (seed 0)</figcaption>")
        page.image(g.prior, alt: "prior samples")
        page.raw("</figure>\n<figure><figcaption>")
        page.text("A straight walk in code space from sample \(g.endpoints.0) to sample \(g.endpoints.1)")
        page.raw("</figcaption>")
        page.image(g.interpolation, alt: "interpolation")
        page.raw("</figure></section>\n")
    }

    static func compression(_ page: inout Page, _ points: [RatePoint], name: String) {
        page.raw("<section id=\"compression\"><h2>Compression</h2>\n<p>Codes quantised at 1-8 bits and arithmetic-coded (as bottleneck compress), beside JPEG and PNG on the same images.</p>\n")
        page.charts([rateDistortionSVG(points, title: "\(name) vs JPEG")])
        page.raw("<table class=\"metrics\"><thead><tr><th>method</th><th>setting</th><th class=\"n\">bytes</th><th class=\"n\">bits/pixel</th><th class=\"n\">PSNR (dB)</th></tr></thead><tbody>")
        for p in points {
            page.raw("<tr><td>\(escape(p.method))</td><td>\(escape(p.setting))</td><td class=\"n\">\(p.bytes)</td><td class=\"n\">\(String(format: "%.4f", p.bitsPerPixel))</td><td class=\"n\">\(p.psnr.isFinite ? String(format: "%.2f", p.psnr) : "lossless")</td></tr>")
        }
        page.raw("</tbody></table></section>\n")
    }

    // MARK: writing

    struct Page {
        var body = ""
        mutating func raw(_ s: String) { body += s }
        mutating func text(_ s: String) { body += escape(s) }
        /// Charts side by side, two to a row on wide screens.
        mutating func charts(_ svgs: [String]) {
            body += "<div class=\"charts\">"
            for s in svgs { body += "<div class=\"chart\">" + s + "</div>" }
            body += "</div>\n"
        }
        /// A PNG as a data URI, drawn with square pixels at up to three times its size.
        mutating func image(_ png: Data, alt: String) {
            let width = png.count >= 24 ? png[16..<20].reduce(0) { $0 << 8 | Int($1) } : 0
            let shown = Swift.min(width * 3, 960)
            body += "<img alt=\"\(escape(alt))\" width=\"\(shown)\" src=\"data:image/png;base64,\(png.base64EncodedString())\">"
        }
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static let style = """
    body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;color:#222;max-width:1100px;margin:0 auto;padding:0 16px 32px;line-height:1.4}
    header{border-bottom:2px solid #1f6fb4;margin-bottom:8px}h1{margin:16px 0 2px;font-size:26px}.sub{margin:0 0 6px;color:#555}
    .live{background:#fff4d6;border:1px solid #e8b84a;padding:6px 10px;margin:6px 0}
    nav a{margin-right:14px;color:#1f6fb4;text-decoration:none}nav{margin:6px 0 10px}
    h2{border-bottom:1px solid #ddd;padding-bottom:3px;margin-top:28px}h3{margin:18px 0 6px;font-size:16px}
    table{border-collapse:collapse;margin:6px 0 12px;font-size:14px}th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
    table.facts th{color:#555;font-weight:normal;white-space:nowrap}table.facts td{word-break:break-all}
    table.metrics th{background:#f4f6f8}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr.mark td{background:#f4f6f8;font-weight:bold}
    .charts{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:12px;margin:8px 0}@media (max-width:760px){.charts{grid-template-columns:1fr}}.chart svg{width:100%;height:auto;display:block}
    figure{margin:10px 0}figcaption{font-size:14px;color:#444;margin-bottom:4px}img{image-rendering:pixelated;max-width:100%;height:auto;border:1px solid #ddd}
    .bar{display:inline-block;height:10px;background:#1f6fb4}footer{margin-top:32px;color:#777;font-size:13px}
    @media print{nav,.live{display:none}section{break-inside:avoid-page}body{max-width:none}.charts{grid-template-columns:1fr 1fr}}
    """
}
