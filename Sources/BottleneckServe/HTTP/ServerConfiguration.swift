import Foundation
import Bottleneck

/// Everything `bottleneck serve` is told, typed and checked before anything listens.
public struct ServerConfiguration: Sendable {
    public var modelsDirectory: String
    public var host = "127.0.0.1"
    /// 0 picks a free port (reported by `onListening`).
    public var port = 8080
    /// Bearer tokens, one per line; required when `host` is not a loopback address.
    public var tokenFile: String?
    public var limits = RequestLimits()
    public var batching = BatchingPolicy()
    /// How often the models folder is checked for new, replaced and removed files.
    public var reloadInterval: Duration = .seconds(1)
    public var memoryLimit = ModelMemory.defaultLimit

    public init(modelsDirectory: String) { self.modelsDirectory = modelsDirectory }

    /// Whether `host` only accepts connections from this machine.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    public func validate() throws {
        guard (0...65535).contains(port) else { throw BottleneckError.invalid(.port, "must be in 0...65535, got \(port)") }
        guard !host.isEmpty else { throw BottleneckError.invalid(.host, "must not be empty") }
        if tokenFile == nil && !Self.isLoopback(host) {
            throw BottleneckError.invalid(.tokenFile, "is required when the host is not a loopback address (\(host) accepts connections from other machines)")
        }
        guard limits.maxBodyBytes >= 1 else { throw BottleneckError.invalid(.maxBodySize, "must be at least 1 byte") }
        guard limits.maxRows >= 1 else { throw BottleneckError.invalid(.maxRows, "must be at least 1, got \(limits.maxRows)") }
        guard (2...InputLimits.maxJSONDepth).contains(limits.maxJSONDepth) else {
            throw BottleneckError.invalid(.maxJSONDepth, "must be in 2...\(InputLimits.maxJSONDepth), got \(limits.maxJSONDepth)")
        }
        guard batching.maxBatchRows >= 1 else { throw BottleneckError.invalid(.maxBatchRows, "must be at least 1, got \(batching.maxBatchRows)") }
        guard batching.maxDelay >= .zero, batching.maxDelay <= .seconds(1) else { throw BottleneckError.invalid(.batchDelay, "must be between 0 and 1000 ms") }
        guard batching.maxQueuedRequests >= 1 else { throw BottleneckError.invalid(.queueDepth, "must be at least 1, got \(batching.maxQueuedRequests)") }
        guard batching.requestTimeout > .zero else { throw BottleneckError.invalid(.requestTimeout, "must be positive") }
        guard reloadInterval >= .milliseconds(100) else { throw BottleneckError.invalid(.reloadInterval, "must be at least 100 ms") }
    }
}

/// The bearer tokens a server accepts. Tokens are compared by their SHA-256 digests, every
/// stored digest every time, so the time taken says nothing about how much of a token matched.
public struct BearerTokens: Sendable {
    private let digests: [[UInt8]]

    public static let minimumLength = 16

    public init(file path: String) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw BottleneckError.invalid(.tokenFile, "\(path) cannot be read as UTF-8 text")
        }
        var tokens: [String] = []
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard line.utf8.count >= Self.minimumLength, !line.contains(where: { $0.isWhitespace }) else {
                throw BottleneckError.invalid(.tokenFile, "\(path) line \(i + 1): a token is one word of at least \(Self.minimumLength) characters (e.g. from `openssl rand -hex 32`)")
            }
            tokens.append(line)
        }
        guard !tokens.isEmpty else { throw BottleneckError.invalid(.tokenFile, "\(path) holds no token (one per line; # starts a comment)") }
        self.init(tokens: tokens)
    }

    public init(tokens: [String]) { digests = tokens.map(Self.digest) }

    static func digest(_ s: String) -> [UInt8] {
        var h = SHA256()
        h.update(s)
        return h.finalize()
    }

    /// Whether an `Authorization` header value carries one of the tokens.
    public func accepts(authorization header: String?) -> Bool {
        guard let header, header.count > 7, header.prefix(7).lowercased() == "bearer " else { return false }
        let given = Self.digest(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        var matched: UInt8 = 1
        for d in digests {
            var diff: UInt8 = 0
            for k in 0..<d.count { diff |= d[k] ^ given[k] }
            matched &= diff == 0 ? 0 : 1
        }
        return matched == 0
    }
}
