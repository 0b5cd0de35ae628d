import Foundation

/// A minimal SVG writer.
struct SVG {
    private var body = ""

    var text: String {
        let w = Int(Charts.width), h = Int(Charts.height)
        return """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(w)" height="\(h)" viewBox="0 0 \(w) \(h)" font-family="Helvetica, Arial, sans-serif" font-size="13">
        <rect width="100%" height="100%" fill="white"/>
        \(body)</svg>

        """
    }

    private func f(_ v: Double) -> String { String(format: "%.2f", v) }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1, dash: String? = nil) {
        body += "<line x1=\"\(f(x1))\" y1=\"\(f(y1))\" x2=\"\(f(x2))\" y2=\"\(f(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(f(width))\""
            + (dash.map { " stroke-dasharray=\"\($0)\"" } ?? "") + "/>\n"
    }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil, opacity: Double = 1) {
        body += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(w))\" height=\"\(f(h))\" fill=\"\(fill)\""
            + (stroke.map { " stroke=\"\($0)\"" } ?? "") + (opacity < 1 ? " fill-opacity=\"\(f(opacity))\"" : "") + "/>\n"
    }

    mutating func circle(_ x: Double, _ y: Double, radius: Double, fill: String, opacity: Double = 1) {
        body += "<circle cx=\"\(f(x))\" cy=\"\(f(y))\" r=\"\(f(radius))\" fill=\"\(fill)\""
            + (opacity < 1 ? " fill-opacity=\"\(f(opacity))\"" : "") + "/>\n"
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double) {
        let p = points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ")
        body += "<polyline points=\"\(p)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(f(width))\"/>\n"
    }

    mutating func label(_ s: String, _ x: Double, _ y: Double, anchor: String, fill: String = "#222222", size: Double? = nil, rotate: Double? = nil) {
        let escaped = s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        body += "<text x=\"\(f(x))\" y=\"\(f(y))\" text-anchor=\"\(anchor)\" fill=\"\(fill)\""
            + (size.map { " font-size=\"\(f($0))\"" } ?? "")
            + (rotate.map { " transform=\"rotate(\(f($0)) \(f(x)) \(f(y)))\"" } ?? "") + ">\(escaped)</text>\n"
    }
}
