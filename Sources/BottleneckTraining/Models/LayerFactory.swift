import BottleneckCore
import BottleneckNN
import BottleneckData
/// Builds layers from `LayerSpec`s, walking the per-sample shape so that input sizes are inferred.
/// Every layer type a user can name in an architecture file is listed in `LayerFactory.builders`.
public enum LayerFactory {
    /// Makes one layer for an input of per-sample shape `shape`.
    public typealias Builder = (_ spec: LayerSpec, _ shape: [Int], _ rng: RandomGenerator) throws -> Module

    public static var typeNames: [String] { builders.keys.sorted() }

    static let builders: [String: Builder] = coreBuilders.merging(spatialBuilders) { a, _ in a }

    static let coreBuilders: [String: Builder] = [
        "linear": { s, shape, rng in
            // Acts on the last axis: images need {"type": "flatten"} first; sequences map each step.
            let fin = try s.int("in", default: shape.last ?? 0)
            return Linear(fin, try positive(s, "out"), bias: try s.bool("bias", default: true), rng: rng)
        },
        "relu": { _, _, _ in ReLU() },
        "leaky_relu": { s, _, _ in LeakyReLU(try s.float("slope", default: 0.01)) },
        "sigmoid": { _, _, _ in Sigmoid() },
        "tanh": { _, _, _ in Tanh() },
        "softplus": { _, _, _ in Softplus() },
        "gelu": { _, _, _ in GELU() },
        "identity": { _, _, _ in Identity() },
        "flatten": { _, _, _ in Flatten() },
        "unflatten": { s, _, _ in Unflatten(try s.ints("shape")) },
    ]

    /// A Sequential of `specs` for inputs of per-sample `inputShape`; throws naming the failing
    /// layer (its position and type) and the shapes.
    public static func sequential(_ specs: [LayerSpec], inputShape: [Int], rng: RandomGenerator, part: String) throws -> (Sequential, [Int]) {
        var layers: [Module] = [], shape = inputShape
        for (i, spec) in specs.enumerated() {
            guard let build = builders[spec.type.lowercased()] else {
                throw BottleneckError("\(part) layer \(i): unknown layer type '\(spec.type)' (known: \(typeNames.joined(separator: ", ")))")
            }
            do {
                let layer = try build(spec, shape, rng)
                shape = try layer.outputShape(for: shape)
                layers.append(layer)
            } catch let e as BottleneckError {
                throw BottleneckError("\(part) layer \(i) (\(spec.type)): \(e.message)")
            }
        }
        return (Sequential(layers), shape)
    }
}
