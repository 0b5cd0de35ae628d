import BottleneckCore
/// An in-memory dataset: every sample's values (already scaled) in one tensor [N, sample shape...],
/// with optional integer labels. Batches are gathered rows, so an epoch never copies the whole set.
public struct Dataset {
    public var inputs: Tensor
    public var labels: [Int]?
    /// Where the data came from, for messages.
    public var source: String
    /// Names of the features (the last axis), when the file named them: a CSV header's columns.
    /// A model records them so data with other columns is refused.
    public var featureNames: [String]?

    public init(inputs: Tensor, labels: [Int]? = nil, source: String = "data", featureNames: [String]? = nil) {
        precondition(labels == nil || labels!.count == inputs.shape[0], "labels do not match the number of samples")
        self.inputs = inputs
        self.labels = labels
        self.source = source
        self.featureNames = featureNames
    }

    public var count: Int { inputs.shape.first ?? 0 }
    public var sampleShape: [Int] { Array(inputs.shape.dropFirst()) }
    public var featureCount: Int { sampleShape.reduce(1, *) }

    /// The samples at `indices`, as a new dataset.
    public func subset(_ indices: [Int]) -> Dataset {
        Dataset(inputs: withoutGradients { inputs.gather(rows: indices) }, labels: labels.map { l in indices.map { l[$0] } }, source: source,
                featureNames: featureNames)
    }

    /// Splits off a validation part of `fraction`, chosen by a seeded shuffle.
    public func split(validationFraction fraction: Double, rng: RandomGenerator) -> (train: Dataset, validation: Dataset) {
        let order = rng.permutation(count)
        let nVal = Int((Double(count) * fraction).rounded())
        return (subset(Array(order[nVal...]).sorted()), subset(Array(order[..<nVal]).sorted()))
    }

    /// Batch index lists for one epoch; shuffled when a generator is given.
    public func batchIndices(batchSize: Int, shuffle rng: RandomGenerator?) -> [[Int]] {
        let order = rng.map { $0.permutation(count) } ?? Array(0..<count)
        return stride(from: 0, to: count, by: batchSize).map { Array(order[$0..<min($0 + batchSize, count)]) }
    }

    /// The batch of rows `indices`.
    public func batch(_ indices: [Int]) -> Tensor { withoutGradients { inputs.gather(rows: indices) } }

    /// Consecutive batches in order (evaluation), as views without copying.
    public func sequentialBatches(size: Int) -> [Tensor] {
        stride(from: 0, to: count, by: size).map { inputs.rows($0, min(size, count - $0)) }
    }
}

/// Fashion-MNIST (or any MNIST-format pair of IDX files): images scaled to [0, 1], shape [N, 1, H, W].
public enum FashionMNIST {
    public static let defaultDirectory = "/usr/share/datasets/fashion-mnist"
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    public enum Split: String { case train, test }

    public static func load(_ split: Split, directory: String = defaultDirectory) throws -> Dataset {
        let prefix = split == .train ? "train" : "t10k"
        let imagesPath = "\(directory)/\(prefix)-images-idx3-ubyte.gz"
        let labelsPath = "\(directory)/\(prefix)-labels-idx1-ubyte.gz"
        return try loadIDXPair(images: imagesPath, labels: labelsPath)
    }

    /// An images file [N, H, W] (or [N, C, H, W]) and an optional labels file [N].
    public static func loadIDXPair(images: String, labels: String?) throws -> Dataset {
        let img = try IDXArray.read(images)
        guard img.shape.count >= 2 else { throw BottleneckError.file(images, "IDX images need at least 2 dimensions, got \(formatShape(img.shape))") }
        let shape = img.shape.count == 3 ? [img.shape[0], 1, img.shape[1], img.shape[2]] : img.shape
        let t = Tensor(shape: shape, zeroed: false)
        img.values.withUnsafeBufferPointer { src in for i in 0..<t.count { t.data[i] = src[i] / 255 } }
        var labelValues: [Int]? = nil
        if let labels {
            let l = try IDXArray.read(labels)
            guard l.shape.count == 1, l.shape[0] == shape[0] else {
                throw BottleneckError.file(labels, "has \(formatShape(l.shape)) labels for \(shape[0]) images")
            }
            if let k = l.values.firstIndex(where: { !($0 >= 0 && $0 < 16_777_216 && $0 == $0.rounded()) }) {
                throw BottleneckError.file(labels, "label \(l.values[k]) at index \(k) is not a class number (0, 1, 2, ...)")
            }
            labelValues = l.values.map { Int($0) }
        }
        let dataset = Dataset(inputs: t, labels: labelValues, source: images)
        try validateFinite(dataset)
        return dataset
    }
}

extension Dataset {
    /// The samples whose label is in `classes` (one-class training, fitting on normal data).
    /// `flag` names the option in messages.
    public func restricted(toClasses classes: Set<Int>, field: ConfigField = .classes) throws -> Dataset {
        guard let labels else {
            throw BottleneckError.invalid(field, "needs labels, and \(source) has none (give the data labels: a label file or column)")
        }
        let keep = labels.indices.filter { classes.contains(labels[$0]) }
        guard !keep.isEmpty else {
            let present = Set(labels).sorted().map(String.init).joined(separator: ", ")
            throw BottleneckError.invalid(field, "\(classes.sorted().map(String.init).joined(separator: ",")): no sample of \(source) has such a label (labels present: \(present))")
        }
        return keep.count == count ? self : subset(keep)
    }
}
