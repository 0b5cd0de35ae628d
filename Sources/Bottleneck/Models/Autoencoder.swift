/// An autoencoder: encoder h = f(x) and decoder r = g(h), built from an `ArchitectureSpec` for
/// inputs of a given per-sample shape. Shapes are checked when it is built, so a model and data
/// that do not fit fail here with the layer named, never inside training.
public final class Autoencoder: Module {
    public let spec: ArchitectureSpec
    public let encoder: Sequential
    public let decoder: Sequential
    public let inputShape: [Int]
    public let codeShape: [Int]

    public init(spec: ArchitectureSpec, inputShape: [Int], rng: RandomGenerator) throws {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw BottleneckError("model '\(spec.name)': invalid input shape \(formatShape(inputShape))")
        }
        if let declared = spec.inputShape, declared != inputShape {
            throw BottleneckError("model '\(spec.name)' was built for inputs \(formatShape(declared)), the data has \(formatShape(inputShape))")
        }
        var spec = spec
        spec.inputShape = inputShape
        (encoder, codeShape) = try LayerFactory.sequential(spec.encoder, inputShape: inputShape, rng: rng, part: "encoder")
        var decoderSpecs = spec.decoder
        var (dec, outShape) = try LayerFactory.sequential(decoderSpecs, inputShape: codeShape, rng: rng, part: "decoder")
        if outShape != inputShape && outShape.reduce(1, *) == inputShape.reduce(1, *) {
            // A flat decoder output for image-shaped input: restore the shape.
            decoderSpecs.append(LayerSpec("unflatten", ["shape": .array(inputShape.map { .number(Double($0)) })]))
            (dec, outShape) = try LayerFactory.sequential(decoderSpecs, inputShape: codeShape, rng: rng, part: "decoder")
        }
        guard outShape == inputShape else {
            throw BottleneckError("model '\(spec.name)': decoder output \(formatShape(outShape)) does not match input \(formatShape(inputShape))")
        }
        spec.decoder = decoderSpecs
        decoder = dec
        self.spec = spec
        self.inputShape = inputShape
    }

    public override var children: [(String, Module)] { [("encoder", encoder), ("decoder", decoder)] }

    public func encode(_ x: Tensor) -> Tensor { encoder(x) }
    public func decode(_ h: Tensor) -> Tensor { decoder(h) }
    public override func callAsFunction(_ x: Tensor) -> Tensor { decoder(encoder(x)) }

    public override var typeName: String { "Autoencoder(\(spec.name))" }

    /// Checks a batch's per-sample shape against the model's input, naming both.
    public func checkInput(_ sampleShape: [Int], source: String) throws {
        guard sampleShape == inputShape else {
            throw BottleneckError("\(source): samples of shape \(formatShape(sampleShape)) do not fit model '\(spec.name)' (input \(formatShape(inputShape)))")
        }
    }
}
