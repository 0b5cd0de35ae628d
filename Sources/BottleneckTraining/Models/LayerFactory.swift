import BottleneckCore
import BottleneckNN
import BottleneckData
/// Builds layers from `LayerSpec`s, walking the per-sample shape so that input sizes are inferred.
/// Every layer type a user can name in an architecture file is listed in `LayerFactory.types`,
/// with the argument keys it reads: any other key is an error, not silently ignored.
public enum LayerFactory {
    /// Makes one layer for an input of per-sample shape `shape`.
    public typealias Builder = (_ spec: LayerSpec, _ shape: [Int], _ rng: RandomGenerator) throws -> Module

    /// How many values (parameters and buffers) a layer of a spec holds for an input of per-sample
    /// shape: computed from the spec alone, so a model is measured before anything is allocated.
    public typealias ValueCount = (_ spec: LayerSpec, _ shape: [Int]) throws -> Int

    /// A layer type: the argument keys it reads, the values it holds and how it is built.
    public struct LayerType {
        public let keys: [String]
        public let values: ValueCount
        public let build: Builder
        init(keys: [String], values: @escaping ValueCount = { _, _ in 0 }, build: @escaping Builder) {
            self.keys = keys
            self.values = values
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
        "linear": LayerType(keys: ["in", "out", "bias"], values: { s, shape in
            try total(count(positive(s, "in", default: shape.last ?? 0), positive(s, "out")), s.bool("bias", default: true) ? positive(s, "out") : 0)
        }) { s, shape, rng in
            // Acts on the last axis: images need {"type": "flatten"} first; sequences map each step.
            let fin = try positive(s, "in", default: shape.last ?? 0)
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
    /// Each layer's values are counted into `budget` before the layer is built, and its output
    /// shape after, so a model too large for the budget is refused before it is allocated.
    public static func sequential(_ specs: [LayerSpec], inputShape: [Int], rng: RandomGenerator, part: String,
                                  budget: inout ModelMemory) throws -> (Sequential, [Int]) {
        try checkArguments(specs, part: part)
        var layers: [Module] = [], shape = inputShape
        for (i, spec) in specs.enumerated() {
            guard let type = types[spec.type.lowercased()] else {
                throw BottleneckError("\(part) layer \(i): unknown layer type '\(spec.type)' (known: \(typeNames.joined(separator: ", ")))")
            }
            let layerName = "\(part) layer \(i) (\(spec.type))"
            do {
                try budget.add(values: try type.values(spec, shape), of: layerName)
                let layer = try type.build(spec, shape, rng)
                shape = try layer.outputShape(for: shape)
                try budget.add(activations: shape, of: layerName)
                layers.append(layer)
            } catch let e as BottleneckError where e.field == nil {
                throw BottleneckError("\(layerName): \(e.message)")
            }
        }
        return (Sequential(layers), shape)
    }

    /// `sequential` within the default memory limit.
    public static func sequential(_ specs: [LayerSpec], inputShape: [Int], rng: RandomGenerator, part: String) throws -> (Sequential, [Int]) {
        var budget = ModelMemory()
        return try sequential(specs, inputShape: inputShape, rng: rng, part: part, budget: &budget)
    }

    /// The product of layer sizes, saturating at Int.max (the budget refuses it) instead of trapping.
    static func count(_ factors: Int...) -> Int {
        factors.reduce(1) { checkedProduct($0, $1) ?? Int.max }
    }

    /// The sum of value counts, saturating at Int.max.
    static func total(_ parts: Int...) -> Int {
        parts.reduce(0) { let (s, o) = $0.addingReportingOverflow($1); return o ? Int.max : s }
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
