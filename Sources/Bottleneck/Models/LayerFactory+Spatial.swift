extension LayerFactory {
    static let spatialBuilders: [String: Builder] = [:]
    static func positive(_ s: LayerSpec, _ key: String) throws -> Int {
        let v = try s.int(key)
        guard v >= 1 else { throw BottleneckError("argument '\(key)' must be at least 1, got \(v)") }
        return v
    }
}
