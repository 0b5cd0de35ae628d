import Foundation
import BottleneckCore
import BottleneckNN

/// Brings a plain PyTorch state_dict (tensors under PyTorch's module names, no architecture)
/// into a Bottleneck model of a given architecture. Layers carry PyTorch's own tensor layouts
/// (Linear `[out, in]`, Conv2d `[out, in, kh, kw]`, ConvTranspose2d `[in, out, kh, kw]`,
/// BatchNorm's running statistics), so only the names differ:
///
/// - With `renames` (source key to model key), exactly those names are used.
/// - Otherwise modules are matched in forward order. The source's modules (a key without its
///   last component) are ordered by their top-level name: `encoder` first, then `fc` (the seed's
///   PyTorch `ConvAutoencoder`: `encoder.0/2`, `fc.0/2`, `decoder.0/2`), other names
///   alphabetically, `decoder` last; a flat `nn.Sequential` (`0.weight`, `2.weight`, ...) keeps
///   its numeric order, as does each Sequential inside. Tensors within a module match by their
///   own name (`weight`, `bias`, `running_mean`, ...); `num_batches_tracked` is PyTorch's
///   counter and is dropped.
///
/// Every missing, unexpected and mis-shaped tensor is collected before anything is assigned.
public struct StateDictImport {
    /// A source key and the model key it was given to.
    public var assigned: [(source: String, target: String)] = []
    public var missing: [String] = []
    public var unexpected: [String] = []
    /// Source key, model key, source shape, model shape.
    public var misshaped: [(source: String, target: String, have: [Int], need: [Int])] = []

    public var fits: Bool { missing.isEmpty && unexpected.isEmpty && misshaped.isEmpty }

    /// The plan for `source` (name, shape) onto `model`'s state dict.
    public init(source: [(String, [Int])], model: Module, renames: [String: String]? = nil) {
        let target = model.stateDict().map { ($0.0, $0.1.shape) }
        let targetShapes = Dictionary(target, uniquingKeysWith: { a, _ in a })
        let kept = source.filter { !$0.0.hasSuffix("num_batches_tracked") }
        var pairs: [(String, String)] = []
        if let renames {
            for (name, _) in kept {
                if let to = renames[name], targetShapes[to] != nil { pairs.append((name, to)) } else { unexpected.append(name) }
            }
        } else {
            let mine = Self.modules(target.map(\.0), ordered: false), theirs = Self.modules(kept.map(\.0), ordered: true)
            for k in 0..<Swift.max(mine.count, theirs.count) {
                guard k < theirs.count else { continue }
                guard k < mine.count else { unexpected += theirs[k].keys.map { theirs[k].prefix + $0 }; continue }
                for leaf in theirs[k].keys {
                    if mine[k].keys.contains(leaf) { pairs.append((theirs[k].prefix + leaf, mine[k].prefix + leaf)) }
                    else { unexpected.append(theirs[k].prefix + leaf) }
                }
            }
        }
        let sourceShapes = Dictionary(kept, uniquingKeysWith: { a, _ in a })
        for (from, to) in pairs {
            let have = sourceShapes[from]!, need = targetShapes[to]!
            if have == need { assigned.append((from, to)) } else { misshaped.append((from, to, have, need)) }
        }
        let given = Set(pairs.map(\.1))
        missing = target.map(\.0).filter { !given.contains($0) }
    }

    /// One line listing every problem, for an error about `file`.
    public var problems: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { parts.append("unexpected " + unexpected.joined(separator: ", ")) }
        if !misshaped.isEmpty {
            parts.append("wrong shape " + misshaped.map { "\($0.source) \(formatShape($0.have)) (\($0.target) needs \(formatShape($0.need)))" }.joined(separator: ", "))
        }
        return parts.joined(separator: "; ")
    }

    /// Loads `tensors` into `model` by the plan, or throws one error listing every problem
    /// (nothing is assigned then).
    public static func load(_ tensors: [String: Tensor], names: [String], into model: Module, renames: [String: String]?,
                            architecture: String, source file: String) throws {
        let plan = StateDictImport(source: names.map { ($0, tensors[$0]!.shape) }, model: model, renames: renames)
        guard plan.fits else {
            throw BottleneckError.file(file, "does not fit \(architecture)" + (renames == nil ? " (matched by module order; give --rename for other layouts)" : "")
                                       + ": " + plan.problems)
        }
        var mapped: [String: Tensor] = [:]
        for (from, to) in plan.assigned { mapped[to] = tensors[from]! }
        try model.load(stateDict: mapped, from: file)
    }

    /// Keys grouped by module (all but the last component), in forward order: the model's
    /// own order as listed, or the source's by the layout rule above.
    static func modules(_ keys: [String], ordered: Bool) -> [(prefix: String, keys: [String])] {
        var order: [String] = [], leaves: [String: [String]] = [:]
        for key in keys {
            let prefix = key.split(separator: ".").dropLast().joined(separator: ".")
            let p = prefix.isEmpty ? "" : prefix + "."
            if leaves[p] == nil { order.append(p) }
            leaves[p, default: []].append(String(key.dropFirst(p.count)))
        }
        if ordered { order.sort { sortKey($0).lexicographicallyPrecedes(sortKey($1)) } }
        return order.map { ($0, leaves[$0]!) }
    }

    /// A module path's place: top-level rank, then each component numerically or by name.
    static func sortKey(_ prefix: String) -> [SortPart] {
        let parts = prefix.split(separator: ".").map(String.init)
        let top = parts.first ?? ""
        let rank = top == "encoder" ? 0 : top == "fc" ? 1 : top == "decoder" ? 3 : Int(top) != nil ? 0 : 2
        return [.number(rank)] + parts.map { Int($0).map(SortPart.number) ?? .name($0) }
    }

    enum SortPart: Comparable {
        case number(Int), name(String)
    }
}
