import Foundation
import Bottleneck

/// The common body `{"rows": [[n, n, ...], ...]}` (or `"codes"`) read in one pass over the bytes.
/// Foundation's JSONDecoder takes 0.74 ms for one 784-value row on this machine, several times
/// the model's forward pass, so it would bound the server's throughput; this reader takes the
/// one layout clients send most and answers nil for anything else (objects as rows, nested
/// arrays, other keys, whitespace oddities included), which then goes to JSONDecoder. Numbers
/// must follow JSON's grammar exactly (no NaN, no leading '+', no "1."), then parse as the CSV
/// reader parses them.
enum JSONRows {
    /// The values, row after row, and each row's length; nil when the body is not in this layout.
    static func parse(_ body: Data) -> (values: [Float], rowLengths: [Int])? {
        body.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> ([Float], [Int])? in
            guard let p = raw.bindMemory(to: UInt8.self).baseAddress else { return nil }
            let n = raw.count
            var i = 0
            @inline(__always) func skip() { while i < n, p[i] == 32 || p[i] == 10 || p[i] == 13 || p[i] == 9 { i += 1 } }
            @inline(__always) func expect(_ c: UInt8) -> Bool { skip(); guard i < n, p[i] == c else { return false }; i += 1; return true }
            guard expect(UInt8(ascii: "{")), expect(UInt8(ascii: "\"")) else { return nil }
            let keyStart = i
            while i < n, p[i] != UInt8(ascii: "\"") { i += 1 }
            let key = String(decoding: UnsafeBufferPointer(start: p + keyStart, count: i - keyStart), as: UTF8.self)
            guard key == "rows" || key == "codes", i < n else { return nil }
            i += 1
            guard expect(UInt8(ascii: ":")), expect(UInt8(ascii: "[")) else { return nil }
            var values: [Float] = [], lengths: [Int] = []
            values.reserveCapacity(n / 4)
            var scratch = [CChar](repeating: 0, count: 64)
            skip()
            if i < n, p[i] == UInt8(ascii: "]") { return nil }  // no rows: let the full reader say so
            while true {
                guard expect(UInt8(ascii: "[")) else { return nil }
                var count = 0
                skip()
                if i < n, p[i] == UInt8(ascii: "]") { i += 1 } else {
                    while true {
                        skip()
                        let start = i
                        while i < n, Self.isNumberByte(p[i]) { i += 1 }
                        guard Self.isJSONNumber(p + start, i - start),
                              let v = DecimalText.number(p + start, i - start, scratch: &scratch) else { return nil }
                        values.append(Float(v))
                        count += 1
                        skip()
                        guard i < n else { return nil }
                        if p[i] == UInt8(ascii: ",") { i += 1; continue }
                        if p[i] == UInt8(ascii: "]") { i += 1; break }
                        return nil
                    }
                }
                lengths.append(count)
                skip()
                guard i < n else { return nil }
                if p[i] == UInt8(ascii: ",") { i += 1; continue }
                if p[i] == UInt8(ascii: "]") { i += 1; break }
                return nil
            }
            guard expect(UInt8(ascii: "}")) else { return nil }
            skip()
            return i == n ? (values, lengths) : nil
        }
    }

    @inline(__always) static func isNumberByte(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || c == 45 || c == 43 || c == 46 || c == 101 || c == 69
    }

    /// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    static func isJSONNumber(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        @inline(__always) func digit() -> Bool { i < n && p[i] >= 48 && p[i] <= 57 }
        if i < n, p[i] == 45 { i += 1 }
        guard digit() else { return false }
        if p[i] == 48 { i += 1 } else { while digit() { i += 1 } }
        if i < n, p[i] == 46 {
            i += 1
            guard digit() else { return false }
            while digit() { i += 1 }
        }
        if i < n, p[i] == 101 || p[i] == 69 {
            i += 1
            if i < n, p[i] == 43 || p[i] == 45 { i += 1 }
            guard digit() else { return false }
            while digit() { i += 1 }
        }
        return i == n
    }
}
