/// A reference-counted block of Float memory. Tensors that are views (reshape, batch slices)
/// share one Storage, so no data is copied to change a shape.
public final class Storage {
    public let base: UnsafeMutablePointer<Float>
    public let capacity: Int

    public init(capacity: Int, zeroed: Bool = false) {
        self.capacity = capacity
        base = .allocate(capacity: Swift.max(capacity, 1))
        if zeroed { base.initialize(repeating: 0, count: Swift.max(capacity, 1)) }
    }

    deinit { base.deallocate() }
}
