import Foundation
import Bottleneck

/// What a client can ask of a served model; which of them a model offers follows from its bundle.
public enum ModelOperation: String, CaseIterable, Codable, Sendable {
    case score, encode, reconstruct, decode, generate, denoise, inpaint, colorize, unwatermark

    /// Whether requests of this operation on one model can share a forward pass (fixed-shape rows
    /// in, rows out, no per-request options or randomness).
    var isBatchable: Bool { [.score, .encode, .reconstruct, .decode].contains(self) }
}

/// A loaded model bundle and what it serves. Immutable once loaded: a file replaced on disk
/// gives a new `ServedModel`, and requests holding the old one finish on it.
public final class ServedModel: @unchecked Sendable {
    public let name: String
    public let path: String
    public let bundle: TrainedModel
    /// The score `/score` computes (the stored detector's, else mse) and the detector, if stored.
    public let score: AnomalyScore
    public let detector: Detector?
    public let operations: [ModelOperation]
    public let loadedAt: Date
    /// Identifies the file version this was loaded from (inode, size, modification time).
    let stamp: FileStamp
    private let scorer: AnomalyScorer

    public var model: Autoencoder { bundle.model }
    public var sampleShape: [Int] { model.inputShape }
    /// Whether samples are images [C, H, W] with 1 or 3 channels (PNG/JPEG bodies accepted).
    public var isImageModel: Bool { sampleShape.count == 3 && (sampleShape[0] == 1 || sampleShape[0] == 3) }

    public convenience init(name: String, path: String, memoryLimit: ByteCount = ModelMemory.defaultLimit) throws {
        let stamp = try FileStamp(path: path)
        try self.init(name: name, path: path, bundle: try TrainedModel.load(path, memoryLimit: memoryLimit), stamp: stamp)
    }

    init(name: String, path: String, bundle: TrainedModel, stamp: FileStamp) throws {
        (self.name, self.path, self.bundle, self.stamp) = (name, path, bundle, stamp)
        let policy = DetectionPolicy(bundle: bundle)
        score = policy.score
        detector = bundle.detector.flatMap { $0.score == policy.score ? $0 : nil }
        scorer = try policy.scorer()
        loadedAt = Date()
        var ops: [ModelOperation] = [.score, .encode, .reconstruct, .decode]
        let kind = bundle.model.spec.variant?.kind
        switch kind {
        case .vae?, .aae?: ops.append(.generate)
        default: break
        }
        let image = bundle.model.inputShape.count == 3 && [1, 3].contains(bundle.model.inputShape[0])
        if image {
            switch kind {
            case .denoising(let noise)?:
                ops.append(.denoise)
                // Models trained to fill holes (occlusion or masking noise) also inpaint.
                switch noise {
                case .occlusion, .masking: ops.append(.inpaint)
                default: break
                }
            case .colorize? where bundle.model.inputShape[0] == 3: ops.append(.colorize)
            case .unwatermark?: ops.append(.unwatermark)
            default: break
            }
        }
        operations = ops
    }

    // MARK: Operations. Inputs and outputs are in the data's own scale; the bundle's scaler is
    // applied on the way in and undone on the way out, as the CLI does.

    /// Per-sample scores [N], and per-feature errors [N, F] for tables and windows (rank ≤ 2 samples).
    func scores(_ rows: Tensor) throws -> [Tensor] {
        let data = Dataset(inputs: try bundle.scaler.transform(rows), source: name)
        if sampleShape.count <= 2 {
            let (s, f) = try scorer.scoresAndFeatureErrors(data)
            return [Tensor(shape: [s.count], values: s), f]
        }
        let s = try scorer.scores(data)
        return [Tensor(shape: [s.count], values: s)]
    }

    func encode(_ rows: Tensor) throws -> [Tensor] {
        let x = try bundle.scaler.transform(rows)
        return [withoutGradients { model.encode(x) }]
    }

    func reconstruct(_ rows: Tensor) throws -> [Tensor] {
        let x = try bundle.scaler.transform(rows)
        return [try bundle.scaler.inverseTransform(withoutGradients { model(x) })]
    }

    func decode(_ codes: Tensor) throws -> [Tensor] {
        [try bundle.scaler.inverseTransform(withoutGradients { model.decode(codes) })]
    }

    func generate(count: Int, seed: UInt64) throws -> [Tensor] {
        let samples = try withoutGradients { try Generation.sample(model, count: count, rng: RandomGenerator(seed: seed)) }
        return [try bundle.scaler.inverseTransform(samples)]
    }

    /// Denoise and unwatermark: images of any size (larger ones in tiles), clamped to [0, 1] scale.
    func restore(_ images: Tensor) throws -> [Tensor] {
        let x = try bundle.scaler.transform(images)
        let r = try withoutGradients { try Restoration.applyAnySize(model, to: x).clamp(0, 1) }
        return [try bundle.scaler.inverseTransform(r)]
    }

    func inpaint(_ images: Tensor, hole: HoleRectangle) throws -> [Tensor] {
        let (h, w) = (images.shape[2], images.shape[3])
        let mask = try HoleMask.rectangle(x: hole.x, y: hole.y, w: hole.width, h: hole.height, imageWidth: w, imageHeight: h)
        let x = try bundle.scaler.transform(images)
        let filled = try withoutGradients { try Inpainting.inpaint(model, images: x, masks: Array(repeating: mask, count: images.shape[0])) }
        return [try bundle.scaler.inverseTransform(filled)]
    }

    func colorize(_ images: Tensor) throws -> [Tensor] {
        let x = try bundle.scaler.transform(images)
        let c = try withoutGradients { try Colorization.colorize(model, gray: x, keepLuma: Colorization.keepsLuma(model)) }
        return [try bundle.scaler.inverseTransform(c)]
    }
}

/// The missing rectangle of an inpainting request, in pixels.
public struct HoleRectangle: Equatable, Sendable {
    public var x, y, width, height: Int

    /// Parses "x,y,width,height".
    public init(parsing text: String) throws {
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, let x = parts[0], let y = parts[1], let w = parts[2], let h = parts[3], x >= 0, y >= 0, w >= 1, h >= 1 else {
            throw RequestError.badRequest("rect must be x,y,width,height in pixels (x, y >= 0; width, height >= 1), got '\(text)'")
        }
        (self.x, self.y, width, height) = (x, y, w, h)
    }
}

/// The version of a file on disk: a file replaced by rename gets a new inode, one rewritten in
/// place a new size or modification time.
struct FileStamp: Equatable {
    var inode: UInt64, size: Int64, modified: Int64

    init(path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { throw BottleneckError.file(path, "cannot be read (\(String(cString: strerror(errno))))") }
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }
}
