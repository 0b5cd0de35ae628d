import BottleneckCore
import BottleneckNN
import BottleneckData
/// Which autoencoder variant a model is trained as, and its knobs (stored in the model file).
public struct VariantSpec: Codable, Equatable {
    public var kind: String
    public var options: [String: JSONValue]

    public init(kind: String, options: [String: JSONValue] = [:]) {
        self.kind = kind
        self.options = options
    }

    public static let plain = VariantSpec(kind: "plain")
}
