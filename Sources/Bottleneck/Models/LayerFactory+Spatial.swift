/// Convolution, pooling, normalisation and recurrent layer builders (filled in with those layers).
extension LayerFactory {
    static let spatialBuilders: [String: Builder] = [:]
}
