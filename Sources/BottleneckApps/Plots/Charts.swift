import Foundation
import BottleneckCore
import BottleneckNN
import BottleneckData
import BottleneckTraining

/// Charts as standalone SVG text on one frame (640x440, plain axes with round tick values and
/// labelled axes): detection results here (an ROC curve, a score histogram with the threshold
/// marked), the report's charts in `Charts+Report.swift`.
public enum Charts {
    static let width = 640.0, height = 440.0
    static let left = 72.0, right = 24.0, top = 44.0, bottom = 60.0
    static var plotWidth: Double { width - left - right }
    static var plotHeight: Double { height - top - bottom }

    /// The ROC curve with the chance diagonal; the title carries the AUROC when given.
    public static func rocCurve(_ curve: ROCCurve, auroc: Double?, title: String = "ROC curve") -> String {
        var svg = SVG()
        let full = title + (auroc.map { String(format: " (AUROC %.4f)", $0) } ?? "")
        drawFrame(&svg, title: full, xLabel: "False positive rate", yLabel: "True positive rate",
                  xTicks: stride(from: 0.0, through: 1.0, by: 0.2).map { $0 }, yTicks: stride(from: 0.0, through: 1.0, by: 0.2).map { $0 },
                  x: { $0 }, y: { $0 })
        svg.line(x(0), y(0), x(1), y(1), stroke: "#999999", dash: "5,4")
        // Points closer than a pixel add nothing to the picture.
        var kept: [(Double, Double)] = []
        for (f, t) in zip(curve.falsePositiveRates, curve.truePositiveRates) {
            if let last = kept.last, Swift.abs(f - last.0) * plotWidth < 0.5 && Swift.abs(t - last.1) * plotHeight < 0.5 { continue }
            kept.append((f, t))
        }
        if let f = curve.falsePositiveRates.last, let t = curve.truePositiveRates.last, kept.last! != (f, t) { kept.append((f, t)) }
        svg.polyline(kept.map { (x($0.0), y($0.1)) }, stroke: "#1f6fb4", width: 2)
        return svg.text
    }

    /// A histogram of `scores` (normal and anomalous samples as two overlaid series when
    /// `anomalies` is given) with the threshold, when given, as a dashed red line. Scores beyond the
    /// 99.5th percentile (or the threshold, if higher) are counted in the last bin.
    public static func scoreHistogram(scores: [Float], anomalies: [Bool]?, threshold: Double?, bins: Int = 50,
                                      scoreName: String = "score", title: String = "Anomaly scores") -> String {
        let sorted = scores.map(Double.init).filter(\.isFinite).sorted()
        let first = sorted.first ?? 0, top = ScoreStatistics.percentile(sorted: sorted, 99.5)
        var low = Swift.min(first, threshold ?? first), high = Swift.max(top, threshold ?? top)
        if high <= low { high = low + 1 }
        let pad = (high - low) * 0.04
        high += pad
        if low - pad >= 0 || low < 0 { low -= pad } else { low = 0 }
        let binWidth = (high - low) / Double(bins)
        var normal = [Int](repeating: 0, count: bins), anomalous = normal
        var overflow = 0
        for (i, s) in scores.enumerated() where s.isFinite {
            var b = Int((Double(s) - low) / binWidth)
            if b >= bins { b = bins - 1; overflow += 1 }
            b = Swift.max(b, 0)
            if anomalies?[i] == true { anomalous[b] += 1 } else { normal[b] += 1 }
        }
        let peak = Double(Swift.max(normal.max() ?? 1, anomalous.max() ?? 1, 1))
        let yTicks = niceTicks(0, peak)
        let yMax = Swift.max(peak, yTicks.last ?? peak)
        let xTicks = niceTicks(low, high).filter { $0 >= low && $0 <= high }
        var svg = SVG()
        let px = { (v: Double) in left + (v - low) / (high - low) * plotWidth }
        let py = { (c: Double) in top + plotHeight - c / yMax * plotHeight }
        drawFrame(&svg, title: title, xLabel: scoreName, yLabel: "samples", xTicks: xTicks, yTicks: yTicks,
                  x: { ($0 - low) / (high - low) }, y: { $0 / yMax })
        // The smaller series is drawn last, so it stays visible on top of the larger one.
        let series = [(normal, "#1f6fb4"), (anomalous, "#e8740c")].sorted { $0.0.reduce(0, +) > $1.0.reduce(0, +) }
        for (counts, colour) in series where counts.contains(where: { $0 > 0 }) {
            for (b, c) in counts.enumerated() where c > 0 {
                let x0 = px(low + Double(b) * binWidth)
                svg.rect(x0, py(Double(c)), binWidth / (high - low) * plotWidth, Double(c) / yMax * plotHeight, fill: colour, opacity: 0.6)
            }
        }
        if let threshold {
            let tx = px(threshold)
            svg.line(tx, top, tx, top + plotHeight, stroke: "#d62728", width: 2, dash: "6,4")
            let anchorEnd = tx > left + plotWidth * 0.7
            svg.label(String(format: "threshold %.4g", threshold), anchorEnd ? tx - 6 : tx + 6, top + 14,
                      anchor: anchorEnd ? "end" : "start", fill: "#d62728")
        }
        var legend: [(String, String)] = []
        if anomalies != nil {
            legend = [("normal", "#1f6fb4"), ("anomaly", "#e8740c")]
        }
        for (k, (name, colour)) in legend.enumerated() {
            let ly = top + 30 + Double(k) * 18
            svg.rect(left + plotWidth - 96, ly - 10, 12, 12, fill: colour, opacity: 0.6)
            svg.label(name, left + plotWidth - 78, ly, anchor: "start")
        }
        if overflow > 0 {
            svg.label("last bin includes \(overflow) higher scores", left + plotWidth, height - 8, anchor: "end", fill: "#555555", size: 11)
        }
        return svg.text
    }

    static func x(_ v: Double) -> Double { left + v * plotWidth }
    static func y(_ v: Double) -> Double { top + plotHeight - v * plotHeight }

    /// Axes, ticks with labels, axis titles and the plot title. `x`/`y` map data values to [0, 1].
    static func drawFrame(_ svg: inout SVG, title: String, xLabel: String, yLabel: String, xTicks: [Double], yTicks: [Double],
                          x fx: (Double) -> Double, y fy: (Double) -> Double, yTickText: ((Double) -> String)? = nil) {
        svg.rect(left, top, plotWidth, plotHeight, fill: "none", stroke: "#333333")
        for t in xTicks {
            let px = x(fx(t))
            svg.line(px, top + plotHeight, px, top + plotHeight + 5, stroke: "#333333")
            svg.label(tickText(t, xTicks), px, top + plotHeight + 20, anchor: "middle")
        }
        for t in yTicks {
            let py = y(fy(t))
            svg.line(left - 5, py, left, py, stroke: "#333333")
            svg.line(left, py, left + plotWidth, py, stroke: "#eeeeee")
            svg.label(yTickText?(t) ?? tickText(t, yTicks), left - 8, py + 4, anchor: "end")
        }
        svg.label(title, width / 2, 26, anchor: "middle", size: 16)
        svg.label(xLabel, left + plotWidth / 2, height - 16, anchor: "middle")
        svg.label(yLabel, 18, top + plotHeight / 2, anchor: "middle", rotate: -90)
    }

    /// About five round tick values (1, 2 or 5 times a power of ten) covering [low, high].
    static func niceTicks(_ low: Double, _ high: Double) -> [Double] {
        let span = Swift.max(high - low, 1e-12)
        let raw = span / 5, magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        let start = ceil(low / step - 1e-9) * step
        return stride(from: start, through: high + step * 0.999, by: step).map { v in
            let r = (v / step).rounded() * step
            return r == 0 ? 0 : r  // no "-0.0" label
        }
    }

    static func tickText(_ v: Double, _ ticks: [Double]) -> String {
        let step = ticks.count > 1 ? Swift.abs(ticks[1] - ticks[0]) : Swift.abs(v)
        if step >= 1 && Swift.abs(v) < 1e6 { return String(format: "%.0f", v) }
        if step >= 1e-4 || step == 0 { return String(format: "%.\(Swift.max(0, Int(ceil(-log10(Swift.max(step, 1e-12)) - 1e-9))))f", v) }
        return String(format: "%.1e", v)
    }
}
