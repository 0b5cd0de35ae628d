import BottleneckCore
import BottleneckNN
import BottleneckData
/// Builds layers from `LayerSpec`s, walking the per-sample shape so that input sizes are inferred.
/// Every layer type a user can name in an architecture file is listed in `LayerFactory.types`,
/// with the argument keys it reads: any other key is an error, not silently ignored.
public enum LayerFactory {
    /// Makes one layer for an input of per-sample shape `shape`.
    public typealias Builder = (_ spec: LayerSpec, _ shape: [Int], _ rng: RandomGenerator) throws -> Module

    /// A layer type: the argument keys it reads and how it is built.
    public struct LayerType {
        public let keys: [String]
        public let build: Builder
        init(keys: [String], build: @escaping Builder) {
            self.keys = keys
            self.build = build
        }
    }

    public static var typeNames: [String] { types.keys.sorted() }

    /// The argument keys layer type `type` reads, or nil for a type the factory does not know.
    public static func argumentKeys(of type: String) -> [String]? { types[type.lowercased()]?.keys }

    static let types: [String: LayerType] = coreTypes.merging(spatialTypes) { a, _ in a }

    /// The builders alone, by type name.
    static var builders: [String: Builder] { types.mapValues(\.build) }

    static let coreTypes: [String: LayerType] = [
        "linear": LayerType(keys: ["in", "out", "bias"]) { s, shape, rng in
            // Acts on the last axis: images need {"type": "flatten"} first; sequences map each step.
            let fin = try s.int("in", default: shape.last ?? 0)
            return Linear(fin, try positive(s, "out"), bias: try s.bool("bias", default: true), rng: rng)
        },
        "relu": LayerType(keys: []) { _, _, _ in ReLU() },
        "leaky_relu": LayerType(keys: ["slope"]) { s, _, _ in LeakyReLU(try s.float("slope", default: 0.01)) },
        "sigmoid": LayerType(keys: []) { _, _, _ in Sigmoid() },
        "tanh": LayerType(keys: []) { _, _, _ in Tanh() },
        "softplus": LayerType(keys: []) { _, _, _ in Softplus() },
        "gelu": LayerType(keys: []) { _, _, _ in GELU() },
        "identity": LayerType(keys: []) { _, _, _ in Identity() },
        "flatten": LayerType(keys: []) { _, _, _ in Flatten() },
        "unflatten": LayerType(keys: ["shape"]) { s, _, _ in Unflatten(try s.ints("shape")) },
    ]

    /// A Sequential of `specs` for inputs of per-sample `inputShape`; throws naming the failing
    /// layer (its position and type) and the shapes.
    public static func sequential(_ specs: [LayerSpec], inputShape: [Int], rng: RandomGenerator, part: String) throws -> (Sequential, [Int]) {
        try checkArguments(specs, part: part)
        var layers: [Module] = [], shape = inputShape
        for (i, spec) in specs.enumerated() {
            guard let type = types[spec.type.lowercased()] else {
                throw BottleneckError("\(part) layer \(i): unknown layer type '\(spec.type)' (known: \(typeNames.joined(separator: ", ")))")
            }
            do {
                let layer = try type.build(spec, shape, rng)
                shape = try layer.outputShape(for: shape)
                layers.append(layer)
            } catch let e as BottleneckError {
                throw BottleneckError("\(part) layer \(i) (\(spec.type)): \(e.message)")
            }
        }
        return (Sequential(layers), shape)
    }

    /// Throws naming the first layer (its part, position and type) with an argument key its type
    /// does not read, e.g. "encoder layer 1 (linear): unknown key 'bais' (known: in, out, bias)".
    /// Unknown types pass here; building reports them.
    public static func checkArguments(_ specs: [LayerSpec], part: String) throws {
        for (i, spec) in specs.enumerated() {
            guard let known = argumentKeys(of: spec.type), let key = firstUnknownKey(spec.args.keys, known: known) else { continue }
            let list = known.isEmpty ? "it takes none" : "known: " + known.joined(separator: ", ")
            throw BottleneckError("\(part) layer \(i) (\(spec.type)): unknown key '\(key)' (\(list))")
        }
    }
}
