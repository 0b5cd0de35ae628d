import BottleneckCore
import BottleneckNN
import BottleneckData
/// An autoencoder described as data: encoder and decoder layer lists, each layer a `type` plus
/// arguments. Input channels and features are inferred from the shape flowing in, so one
/// description fits data of any size, and a user builds a new model without writing Swift.
///
///     {"name": "tiny", "encoder": [{"type": "flatten"}, {"type": "linear", "out": 64}, {"type": "relu"}],
///      "decoder": [{"type": "linear", "out": 784}, {"type": "sigmoid"}]}
public struct ArchitectureSpec: Codable, Equatable {
    public var name: String
    public var encoder: [LayerSpec]
    public var decoder: [LayerSpec]
    /// Per-sample input shape, filled in from the data when the model is built.
    public var inputShape: [Int]?
    /// Variant and its knobs (plain autoencoder when absent).
    public var variant: VariantSpec?

    public init(name: String, encoder: [LayerSpec], decoder: [LayerSpec], inputShape: [Int]? = nil, variant: VariantSpec? = nil) {
        self.name = name
        self.encoder = encoder
        self.decoder = decoder
        self.inputShape = inputShape
        self.variant = variant
    }

    /// Reads an architecture file; unknown keys (of the file, a layer or the variant) are errors
    /// naming the key, where it is and the file.
    public static func load(path: String) throws -> ArchitectureSpec {
        let text = try readTextFile(path)
        var spec = try decodeJSON(ArchitectureSpec.self, text, source: path)
        if spec.name.isEmpty { spec.name = path }
        return spec
    }
}

extension ArchitectureSpec {
    private static let keys = ["name", "encoder", "decoder", "inputShape", "variant"]

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        if let key = firstUnknownKey(c.allKeys.map(\.stringValue), known: Self.keys) {
            throw BottleneckError("architecture key '\(key)' is not known (known: \(Self.keys.joined(separator: ", ")))")
        }
        name = try c.decode(String.self, forKey: AnyCodingKey("name"))
        encoder = try c.decode([LayerSpec].self, forKey: AnyCodingKey("encoder"))
        self.decoder = try c.decode([LayerSpec].self, forKey: AnyCodingKey("decoder"))
        inputShape = try c.decodeIfPresent([Int].self, forKey: AnyCodingKey("inputShape"))
        variant = try c.decodeIfPresent(VariantSpec.self, forKey: AnyCodingKey("variant"))
        try LayerFactory.checkArguments(encoder, part: "encoder")
        try LayerFactory.checkArguments(self.decoder, part: "decoder")
    }
}

/// One layer: its `type` and the rest of its keys as arguments.
public struct LayerSpec: Codable, Equatable {
    public var type: String
    public var args: [String: JSONValue]

    public init(_ type: String, _ args: [String: JSONValue] = [:]) {
        self.type = type
        self.args = args
    }

    public init(from decoder: Decoder) throws {
        var all = try decoder.singleValueContainer().decode([String: JSONValue].self)
        guard case .string(let t)? = all.removeValue(forKey: "type") else {
            throw BottleneckError("a layer has no \"type\" (layer keys: \(all.keys.sorted().joined(separator: ", ")))")
        }
        type = t
        args = all
    }

    public func encode(to encoder: Encoder) throws {
        var all = args
        all["type"] = .string(type)
        var c = encoder.singleValueContainer()
        try c.encode(all)
    }

    public func int(_ key: String, default value: Int? = nil) throws -> Int {
        switch args[key] {
        case .number(let n)? where n == n.rounded() && Swift.abs(n) <= Double(Int32.max): return Int(n)
        case nil: if let value { return value }
            throw BottleneckError("layer '\(type)': missing argument '\(key)'")
        default: throw BottleneckError("layer '\(type)': argument '\(key)' must be an integer of at most \(Int32.max), got \(args[key]!)")
        }
    }

    public func float(_ key: String, default value: Float? = nil) throws -> Float {
        switch args[key] {
        case .number(let n)?: return Float(n)
        case nil: if let value { return value }
            throw BottleneckError("layer '\(type)': missing argument '\(key)'")
        default: throw BottleneckError("layer '\(type)': argument '\(key)' must be a number, got \(args[key]!)")
        }
    }

    public func string(_ key: String, default value: String? = nil) throws -> String {
        switch args[key] {
        case .string(let s)?: return s
        case nil: if let value { return value }
            throw BottleneckError("layer '\(type)': missing argument '\(key)'")
        default: throw BottleneckError("layer '\(type)': argument '\(key)' must be a string, got \(args[key]!)")
        }
    }

    public func bool(_ key: String, default value: Bool) throws -> Bool {
        switch args[key] {
        case .bool(let b)?: return b
        case nil: return value
        default: throw BottleneckError("layer '\(type)': argument '\(key)' must be true or false, got \(args[key]!)")
        }
    }

    public func ints(_ key: String) throws -> [Int] {
        guard case .array(let a)? = args[key] else { throw BottleneckError("layer '\(type)': argument '\(key)' must be a list of integers") }
        return try a.map { v -> Int in
            guard case .number(let n) = v, n == n.rounded(), Swift.abs(n) <= Double(Int32.max) else {
                throw BottleneckError("layer '\(type)': argument '\(key)' must be a list of integers (each at most \(Int32.max))")
            }
            return Int(n)
        }
    }
}

func readTextFile(_ path: String) throws -> String {
    guard FileManager.default.fileExists(atPath: path) else { throw BottleneckError.file(path, "no such file") }
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    guard size <= InputLimits.maxHeaderBytes else {
        throw BottleneckError.file(path, "is \(ByteCount(size)); an architecture file may be at most \(ByteCount(InputLimits.maxHeaderBytes))")
    }
    guard let d = FileManager.default.contents(atPath: path), let s = String(data: d, encoding: .utf8) else {
        throw BottleneckError.file(path, "cannot be read as UTF-8 text")
    }
    return s
}

import Foundation

extension ArchitectureSpec {
    /// Layer types that are activations (a code ending in one is not linear).
    public static let activationTypes: Set<String> = ["relu", "leaky_relu", "sigmoid", "tanh", "softplus", "gelu"]

    /// The same architecture without the activation on the code. Presets follow the reference
    /// models and put a ReLU there, which leaves some code units at 0 for every input (measured:
    /// 17 of 32 for the conv preset); retrieval and compression want every unit alive.
    public func withLinearCode() -> ArchitectureSpec {
        var s = self
        if let last = s.encoder.last, Self.activationTypes.contains(last.type) { s.encoder.removeLast() }
        return s
    }
}
