import BottleneckCore
import BottleneckNN

/// The layer table `summary` prints and the report shows: one row per layer.
public struct LayerRow: Equatable {
    /// "input", "encoder.3", "code", "decoder.0", ...
    public var path: String
    /// The layer's type and details, e.g. "Conv2D(16, 3x3, stride 2)"; empty for input and code.
    public var kind: String
    public var outputShape: [Int]
    public var parameters: Int
}

extension Autoencoder {
    /// The input, each encoder layer, the code, and each decoder layer with its output shape.
    public func layerRows() throws -> [LayerRow] {
        var rows = [LayerRow(path: "input", kind: "", outputShape: inputShape, parameters: 0)]
        var shape = inputShape
        for (part, seq) in [("encoder", encoder), ("decoder", decoder)] {
            for (i, layer) in seq.layers.enumerated() {
                shape = try layer.outputShape(for: shape)
                rows.append(LayerRow(path: "\(part).\(i)", kind: layer.typeName + (layer.details.isEmpty ? "" : "(\(layer.details))"),
                                     outputShape: shape, parameters: layer.parameterCount))
            }
            // A VAE's encoder gives the mean and log-variance side by side; the decoder takes one code.
            if part == "encoder" {
                shape = codeShape
                rows.append(LayerRow(path: "code", kind: isVariational ? "mean (and log-variance)" : "", outputShape: shape, parameters: 0))
            }
        }
        return rows
    }

    /// Input values per code value.
    public var compressionRatio: Double { Double(inputShape.reduce(1, *)) / Double(codeShape.reduce(1, *)) }
}

/// An integer with thousands separators: 1234567 as "1,234,567".
public func grouped(_ n: Int) -> String {
    let s = String(n.magnitude)
    var out = ""
    for (i, c) in s.reversed().enumerated() { if i > 0 && i % 3 == 0 { out.append(",") }; out.append(c) }
    return (n < 0 ? "-" : "") + String(out.reversed())
}
