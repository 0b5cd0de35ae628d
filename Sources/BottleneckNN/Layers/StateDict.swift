import BottleneckCore

extension Module {
    /// Copies tensors into this module's parameters and buffers by name. Every name of the module
    /// must be present with the same shape; names the module does not have are an error too
    /// (unless `strict` is false), so a file from another architecture is refused.
    public func load(stateDict source: [String: Tensor], strict: Bool = true, from file: String = "state dict") throws {
        let mine = stateDict()
        for (name, t) in mine {
            guard let src = source[name] else { throw BottleneckError.file(file, "has no tensor '\(name)' that the model needs") }
            guard src.shape == t.shape else {
                throw BottleneckError.file(file, "tensor '\(name)' has shape \(formatShape(src.shape)), the model needs \(formatShape(t.shape))")
            }
            // A model with a NaN weight scores every input NaN: refuse it at load, not at use.
            if let k = (0..<src.count).first(where: { !src.data[$0].isFinite }) {
                throw BottleneckError.file(file, "tensor '\(name)' holds a non-finite value (\(src.data[k]) at index \(k)): the weights are damaged")
            }
        }
        if strict {
            let known = Set(mine.map(\.0))
            if let extra = source.keys.sorted().first(where: { !known.contains($0) }) {
                throw BottleneckError.file(file, "has tensor '\(extra)' that the model does not have (another architecture?)")
            }
        }
        for (name, t) in mine { t.assign(source[name]!) }
    }
}
