import Foundation

/// The report's charts, on the same frame as the detection charts: curves over epochs, a
/// scatter of 2-D codes, bars per code unit and the precision-recall curve.
extension Charts {
    /// One named series of a line chart.
    public struct Series {
        public var name: String
        public var values: [Double]
        public var colour: String
        public init(_ name: String, _ values: [Double], colour: String) {
            (self.name, self.values, self.colour) = (name, values, colour)
        }
    }

    /// Ten colours that stay apart from one another (matplotlib's tab10).
    public static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// Series against their index + 1 (epochs). The y axis is logarithmic when the positive
    /// values span more than a factor of 20; `marker` draws a dashed vertical line at that x.
    public static func lineChart(_ series: [Series], title: String, xLabel: String, yLabel: String,
                                 marker: (x: Int, label: String)? = nil) -> String {
        let all = series.flatMap(\.values).filter(\.isFinite)
        let count = series.map(\.values.count).max() ?? 1
        let positive = all.filter { $0 > 0 }
        let logScale = all.count == positive.count && !positive.isEmpty && positive.max()! / positive.min()! > 20
        let transform: (Double) -> Double = logScale ? { log10($0) } : { $0 }
        var low = transform(all.min() ?? 0), high = transform(all.max() ?? 1)
        if high <= low { let half = Swift.max(Swift.abs(low) * 0.1, 1e-6); (low, high) = (low - half, high + half) }
        let pad = (high - low) * 0.05
        (low, high) = (low - pad, high + pad)
        let xMax = Double(Swift.max(count, 2))
        let fx = { (e: Double) in (e - 1) / (xMax - 1) }
        let fy = { (v: Double) in (transform(v) - low) / (high - low) }
        let xTicks = niceTicks(1, xMax).filter { $0 >= 1 && $0 <= xMax && $0 == $0.rounded() }
        var yTicks: [Double]
        if logScale {
            yTicks = []
            for e in Int(floor(low))...Int(ceil(high)) {
                for m in [1.0, 2, 5] { let v = m * pow(10, Double(e)); if log10(v) >= low && log10(v) <= high { yTicks.append(v) } }
            }
            if yTicks.count > 9 { yTicks = yTicks.filter { abs(log10($0) - log10($0).rounded()) < 1e-9 } }
        } else {
            yTicks = niceTicks(low, high).filter { $0 >= low && $0 <= high }
        }
        var svg = SVG()
        drawFrame(&svg, title: title, xLabel: xLabel, yLabel: yLabel + (logScale ? " (log scale)" : ""), xTicks: xTicks, yTicks: yTicks,
                  x: fx, y: fy, yTickText: logScale ? { String(format: "%g", $0) } : nil)
        if let marker {
            let mx = x(fx(Double(marker.x)))
            svg.line(mx, top, mx, top + plotHeight, stroke: "#555555", dash: "4,4")
            let nearRight = mx > left + plotWidth * 0.75
            svg.label(marker.label, nearRight ? mx - 4 : mx + 4, top + plotHeight - 8, anchor: nearRight ? "end" : "start", fill: "#555555", size: 11)
        }
        for s in series {
            let points = s.values.enumerated().filter { $0.element.isFinite }.map { (x(fx(Double($0.offset + 1))), y(fy($0.element))) }
            if points.count == 1 { svg.circle(points[0].0, points[0].1, radius: 3, fill: s.colour) }
            else { svg.polyline(points, stroke: s.colour, width: 2) }
        }
        drawLegend(&svg, series.map { ($0.name, $0.colour) })
        return svg.text
    }

    /// Points coloured by group (`groups[i]` indexes `groupNames`; nil: one colour), axes scaled
    /// to the points. The legend names the groups.
    public static func scatter(_ points: [(Double, Double)], groups: [Int]?, groupNames: [String], title: String,
                               xLabel: String, yLabel: String) -> String {
        let xs = points.map(\.0), ys = points.map(\.1)
        func range(_ v: [Double]) -> (Double, Double) {
            var (a, b) = (v.min() ?? 0, v.max() ?? 1)
            if b <= a { (a, b) = (a - 1, b + 1) }
            let pad = (b - a) * 0.05
            return (a - pad, b + pad)
        }
        let (x0, x1) = range(xs), (y0, y1) = range(ys)
        let fx = { (v: Double) in (v - x0) / (x1 - x0) }, fy = { (v: Double) in (v - y0) / (y1 - y0) }
        var svg = SVG()
        drawFrame(&svg, title: title, xLabel: xLabel, yLabel: yLabel, xTicks: niceTicks(x0, x1).filter { $0 >= x0 && $0 <= x1 },
                  yTicks: niceTicks(y0, y1).filter { $0 >= y0 && $0 <= y1 }, x: fx, y: fy)
        for (i, p) in points.enumerated() {
            let colour = groups.map { palette[$0[i] % palette.count] } ?? palette[0]
            svg.circle(x(fx(p.0)), y(fy(p.1)), radius: 2.2, fill: colour, opacity: 0.75)
        }
        if groups != nil { drawLegend(&svg, groupNames.enumerated().map { ($0.element, palette[$0.offset % palette.count]) }) }
        return svg.text
    }

    /// One bar per value (code units), bars in `highlight` drawn in red with their legend entry.
    public static func bars(_ values: [Double], highlight: Set<Int>, highlightName: String, title: String, xLabel: String, yLabel: String) -> String {
        let n = Swift.max(values.count, 1)
        let high = Swift.max(values.filter(\.isFinite).max() ?? 1, 1e-12)
        let yTicks = niceTicks(0, high)
        let yMax = Swift.max(high, yTicks.last ?? high)
        var svg = SVG()
        let xTicks = niceTicks(0, Double(n - 1)).filter { $0 >= 0 && $0 <= Double(n - 1) && $0 == $0.rounded() }
        drawFrame(&svg, title: title, xLabel: xLabel, yLabel: yLabel, xTicks: xTicks, yTicks: yTicks,
                  x: { ($0 + 0.5) / Double(n) }, y: { $0 / yMax })
        let w = plotWidth / Double(n)
        for (i, v) in values.enumerated() where v.isFinite {
            let h = v / yMax * plotHeight
            svg.rect(left + Double(i) * w + w * 0.1, top + plotHeight - h, w * 0.8, h, fill: highlight.contains(i) ? "#d62728" : "#1f6fb4")
        }
        if !highlight.isEmpty { drawLegend(&svg, [(highlightName, "#d62728")]) }
        return svg.text
    }

    /// The precision-recall curve, with the positives' share as the chance line.
    public static func precisionRecallCurve(_ curve: PrecisionRecallCurve, averagePrecision: Double?, title: String = "Precision-recall curve") -> String {
        var svg = SVG()
        let full = title + (averagePrecision.map { String(format: " (AP %.4f)", $0) } ?? "")
        let ticks = stride(from: 0.0, through: 1.0, by: 0.2).map { $0 }
        drawFrame(&svg, title: full, xLabel: "Recall", yLabel: "Precision", xTicks: ticks, yTicks: ticks, x: { $0 }, y: { $0 })
        svg.line(x(0), y(curve.positiveShare), x(1), y(curve.positiveShare), stroke: "#999999", dash: "5,4")
        // Precision holds until recall next rises: steps, as average precision sums them.
        var points: [(Double, Double)] = []
        for (r, p) in zip(curve.recalls, curve.precisions) {
            if let last = points.last { points.append((r, last.1)) }
            points.append((r, p))
        }
        svg.polyline(points.map { (x($0.0), y($0.1)) }, stroke: "#1f6fb4", width: 2)
        return svg.text
    }

    /// A legend box in the plot's top right corner.
    static func drawLegend(_ svg: inout SVG, _ entries: [(String, String)]) {
        guard !entries.isEmpty else { return }
        let widest = Double(entries.map(\.0.count).max() ?? 0) * 7 + 30
        let x0 = left + plotWidth - widest - 8
        svg.rect(x0, top + 8, widest, Double(entries.count) * 17 + 8, fill: "white", stroke: "#cccccc", opacity: 0.9)
        for (k, (name, colour)) in entries.enumerated() {
            let ly = top + 24 + Double(k) * 17
            svg.rect(x0 + 8, ly - 9, 12, 10, fill: colour)
            svg.label(name, x0 + 26, ly, anchor: "start", size: 12)
        }
    }
}
