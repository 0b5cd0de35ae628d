import Foundation
import Bottleneck

/// The models of one folder: every `NAME.safetensors` in it is served as NAME. `reload()`
/// compares each file with the version loaded and loads what changed; a file replaced on disk
/// swaps its model in one step, and requests already holding the old model finish on it.
public final class ModelRegistry: @unchecked Sendable {
    public let directory: String
    public let memoryLimit: ByteCount
    private let lock = NSLock()
    private var models: [String: ServedModel] = [:]
    /// Files that failed to load, with the error (kept until the file changes).
    private var failures: [String: (stamp: FileStamp, message: String)] = [:]

    public static let fileExtension = ".safetensors"

    public init(directory: String, memoryLimit: ByteCount = ModelMemory.defaultLimit) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw BottleneckError.invalid(.models, "\(directory) is not a folder")
        }
        (self.directory, self.memoryLimit) = (directory, memoryLimit)
    }

    /// A model name is what a URL path segment and a file name can both hold safely.
    public static func isValidName(_ name: String) -> Bool {
        guard (1...128).contains(name.utf8.count), let first = name.utf8.first, first != UInt8(ascii: ".") else { return false }
        return name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
        }
    }

    public static let nameRule = "letters, digits, '_', '-' and '.' (not first), at most 128"

    /// The model served as `name`.
    public func model(named name: String) throws -> ServedModel {
        guard Self.isValidName(name) else { throw RequestError.badRequest("'\(name.prefix(64))' is not a model name: names are \(Self.nameRule)") }
        lock.lock(); defer { lock.unlock() }
        guard let m = models[name] else {
            throw RequestError.notFound("no model named '\(name)' (serving: \(models.keys.sorted().joined(separator: ", ")))")
        }
        return m
    }

    public var all: [ServedModel] {
        lock.lock(); defer { lock.unlock() }
        return models.keys.sorted().map { models[$0]! }
    }

    public var loadFailures: [String: String] {
        lock.lock(); defer { lock.unlock() }
        return failures.mapValues(\.message)
    }

    /// What one reload did.
    public struct Changes: Equatable {
        public var loaded: [String] = []
        public var replaced: [String] = []
        public var removed: [String] = []
        public var failed: [String: String] = [:]
        public var isEmpty: Bool { loaded.isEmpty && replaced.isEmpty && removed.isEmpty && failed.isEmpty }
    }

    /// Loads new and changed files, drops removed ones. A file that fails to load is reported and
    /// leaves the model loaded before it (if any) serving.
    @discardableResult
    public func reload() -> Changes {
        var changes = Changes()
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var seen = Set<String>()
        for file in files.sorted() where file.hasSuffix(Self.fileExtension) {
            let name = String(file.dropLast(Self.fileExtension.count))
            // Training checkpoints (NAME.checkpoint.safetensors beside the model) are not models.
            guard Self.isValidName(name), !name.hasSuffix(".checkpoint") else { continue }
            let path = (directory as NSString).appendingPathComponent(file)
            guard let stamp = try? FileStamp(path: path) else { continue }
            seen.insert(name)
            lock.lock()
            let current = models[name], failed = failures[name]
            lock.unlock()
            if current?.stamp == stamp || failed?.stamp == stamp { continue }
            do {
                let m = try ServedModel(name: name, path: path, bundle: try TrainedModel.load(path, memoryLimit: memoryLimit), stamp: stamp)
                lock.lock()
                models[name] = m
                failures[name] = nil
                lock.unlock()
                if current == nil { changes.loaded.append(name) } else { changes.replaced.append(name) }
            } catch {
                let message = (error as? BottleneckError)?.message ?? "\(error)"
                lock.lock()
                failures[name] = (stamp, message)
                lock.unlock()
                changes.failed[name] = message
            }
        }
        lock.lock()
        for name in models.keys where !seen.contains(name) {
            models[name] = nil
            changes.removed.append(name)
        }
        for name in failures.keys where !seen.contains(name) { failures[name] = nil }
        lock.unlock()
        changes.removed.sort()
        return changes
    }
}
