import Foundation

/// A JSON value, for the free-form arguments of a layer in an architecture file.
public enum JSONValue: Codable, Equatable, CustomStringConvertible {
    case number(Double), string(String), bool(Bool), array([JSONValue]), object([String: JSONValue]), null

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .bool(let b): try c.encode(b)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        case .null: try c.encodeNil()
        }
    }

    public var description: String {
        switch self {
        case .number(let n): return n == n.rounded() && Swift.abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .string(let s): return "\"\(s)\""
        case .bool(let b): return String(b)
        case .array(let a): return "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.keys.sorted().map { "\($0): \(o[$0]!)" }.joined(separator: ", ") + "}"
        case .null: return "null"
        }
    }
}

/// Encodes a Codable value as compact, key-sorted JSON text (for safetensors metadata).
public func jsonString<T: Encodable>(_ value: T) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    return String(decoding: try e.encode(value), as: UTF8.self)
}

/// Decodes `text`; an error names `source` and what is wrong in one line. `userInfo` reaches the
/// types' decoders (e.g. `VariantSpec.formatOneOptions`).
public func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String, source: String, userInfo: [CodingUserInfoKey: Any] = [:]) throws -> T {
    let decoder = JSONDecoder()
    decoder.userInfo = userInfo
    let data = Data(text.utf8)
    if let problem = jsonStructureProblem(data) { throw BottleneckError("\(source): \(problem)") }
    do { return try decoder.decode(type, from: data) } catch {
        throw BottleneckError("\(source): \(describeDecodingError(error))")
    }
}

/// A one-line reading of a Codable error: which key, what was wrong.
func describeDecodingError(_ error: Error) -> String {
    func path(_ p: [CodingKey]) -> String { p.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined() }
    switch error {
    case DecodingError.keyNotFound(let key, let ctx): return "missing key '\(key.stringValue)' at \(path(ctx.codingPath).isEmpty ? "top level" : path(ctx.codingPath))"
    case DecodingError.typeMismatch(_, let ctx), DecodingError.valueNotFound(_, let ctx): return "wrong type at \(path(ctx.codingPath)): \(ctx.debugDescription)"
    case DecodingError.dataCorrupted(let ctx): return "invalid JSON\(ctx.codingPath.isEmpty ? "" : " at \(path(ctx.codingPath))"): \(ctx.debugDescription)"
    case let e as BottleneckError: return e.message
    default: return "\(error)"
    }
}

/// The first of `keys` (in sorted order, so the message is the same every run) that is not in
/// `known`, or nil: documents are checked against the keys each reader knows, so a misspelt key
/// is an error instead of a silently applied default.
public func firstUnknownKey<Keys: Sequence>(_ keys: Keys, known: [String]) -> String? where Keys.Element == String {
    keys.sorted().first { !known.contains($0) }
}

/// A coding key of any name, for reading an object whose keys are checked against a list.
public struct AnyCodingKey: CodingKey, Hashable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ name: String) { stringValue = name }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
}

extension JSONValue {
    /// A Float as a JSON number written in its shortest form (0.002, not 0.0020000000949949026).
    public static func float(_ value: Float) -> JSONValue { .number(Double("\(value)") ?? Double(value)) }
}

/// What Foundation's JSON readers let through silently, or nil: a key given twice in one object
/// (JSONSerialization keeps the last, JSONDecoder the first, so two readers of one file would
/// disagree) and nesting deeper than `maxDepth`. Malformed JSON is left to the parser.
public func jsonStructureProblem(_ data: Data, maxDepth: Int = InputLimits.maxJSONDepth) -> String? {
    var objects: [Set<String>?] = []  // one entry per open container: its keys, nil for an array
    var expectKey = false
    return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> String? in
        let b = raw.bindMemory(to: UInt8.self)
        var i = 0
        while i < b.count {
            switch b[i] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                objects.append(b[i] == UInt8(ascii: "{") ? [] : nil)
                guard objects.count <= maxDepth else { return "nested deeper than \(maxDepth) levels" }
                expectKey = b[i] == UInt8(ascii: "{")
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                if !objects.isEmpty { objects.removeLast() }
                expectKey = false
            case UInt8(ascii: ","):
                expectKey = objects.last.map { $0 != nil } ?? false
            case UInt8(ascii: ":"):
                expectKey = false
            case UInt8(ascii: "\""):
                let start = i
                var escaped = false
                i += 1
                while i < b.count && b[i] != UInt8(ascii: "\"") {
                    if b[i] == UInt8(ascii: "\\") { escaped = true; i += 1 }
                    i += 1
                }
                if expectKey, objects.last != nil, objects.last! != nil, i < b.count {
                    let quoted = Data(b[start...i])
                    let key = escaped ? (try? JSONSerialization.jsonObject(with: quoted, options: .fragmentsAllowed)) as? String
                                      : String(decoding: quoted.dropFirst().dropLast(), as: UTF8.self)
                    if let key, objects[objects.count - 1]!.insert(key).inserted == false {
                        return "key '\(key)' appears twice in one object"
                    }
                    expectKey = false
                }
            default: break
            }
            i += 1
        }
        return nil
    }
}
