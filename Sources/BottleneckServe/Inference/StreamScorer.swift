import Foundation
import Bottleneck

/// Online scoring (`bottleneck score --stream`): one input line in, one JSON line out, as lines
/// arrive. A line is a JSON sample (an array of numbers, flat or nested, or an object keyed by
/// the model's columns) or a CSV row; a first CSV line that is not all numbers is the header,
/// and later rows are matched to the model's columns by it.
public final class StreamScorer {
    public let model: ServedModel
    private var header: String?
    private var lineNumber = 0
    /// Samples that could not be scored so far.
    public private(set) var failures = 0

    public init(model: ServedModel) { self.model = model }

    /// The JSON line answering one input line, or nil for a blank line or the CSV header.
    /// `{"line": N, "score": S, "flag": F}` (flag null without a stored detector; the top-3
    /// columns by error for tables), or `{"line": N, "error": "..."}` for a line that cannot be scored.
    public func answer(_ text: String) -> String? {
        lineNumber += 1
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if line.isEmpty { return nil }
        do {
            guard let sample = try sample(line) else { return nil }
            return try scoreLine(sample)
        } catch {
            failures += 1
            let message = (error as? RequestError)?.message ?? (error as? BottleneckError)?.message ?? "\(error)"
            return "{\"line\":\(lineNumber),\"error\":\(ResponseWriter.quoted(message))}"
        }
    }

    private func sample(_ line: String) throws -> Tensor? {
        let shape = model.sampleShape
        if line.first == "[" || line.first == "{" {
            let body = Data("{\"rows\":[".utf8) + Data(line.utf8) + Data("]}".utf8)
            return try Payload.jsonRows(body, sampleShape: shape, featureNames: model.bundle.featureNames, limits: RequestLimits(), model: model.name)
        }
        let source = "standard input line \(lineNumber)"
        if header == nil && lineNumber == 1, (try? CSV.parse(Data(line.utf8), source: source, header: false)) == nil {
            header = line
            return nil
        }
        let text = header.map { $0 + "\n" + line } ?? line
        let table = try CSV.parse(Data(text.utf8), source: source, header: header != nil)
        try model.bundle.checkFeatures(table.dataset)
        let x = table.dataset.inputs
        guard x.count == shape.reduce(1, *) else {
            throw RequestError.unprocessable("\(source) has \(x.count) values, model '\(model.name)' takes \(shape.reduce(1, *)) (\(formatShape(shape)))")
        }
        return x.reshaped([1] + shape)
    }

    private func scoreLine(_ x: Tensor) throws -> String {
        if let i = (0..<x.count).first(where: { !x.data[$0].isFinite }) {
            throw RequestError.unprocessable("value \(i + 1) is not a finite number")
        }
        return format(try model.scores(x), row: 0, line: lineNumber)
    }

    /// The answer lines of a whole data set [N, ...] (checked by the caller), line k for sample k - 1.
    public func lines(_ samples: Tensor) throws -> [String] {
        let out = try model.scores(samples)
        return (0..<samples.shape[0]).map { format(out, row: $0, line: $0 + 1) }
    }

    private func format(_ out: [Tensor], row: Int, line: Int) -> String {
        let s = out[0].data[row]
        var text = "{\"line\":\(line),\"score\":\(ResponseWriter.number(s)),\"flag\":"
        text += model.detector.map { $0.isAnomaly(s) ? "true" : "false" } ?? "null"
        if out.count > 1 {
            let names = model.bundle.featureNames
            let top = AnomalyScorer.topFeatures(out[1], row: row, count: min(3, out[1].shape[1])).map { f, e in
                "{\"feature\":" + ResponseWriter.quoted(names.map { f < $0.count ? $0[f] : "x\(f)" } ?? "x\(f)") + ",\"error\":" + ResponseWriter.number(e) + "}"
            }
            text += ",\"top_features\":[" + top.joined(separator: ",") + "]"
        }
        return text + "}"
    }
}
