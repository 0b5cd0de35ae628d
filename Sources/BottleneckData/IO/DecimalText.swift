import Foundation

/// Decimal numbers from text bytes: the one parser behind the CSV reader and the model server's
/// JSON rows. Exact: what is not a plain decimal goes to strtod, which rounds correctly.
public enum DecimalText {
    /// The cell as a number (spaces around allowed), or nil. strtod, so "1e-3", "nan" and "inf" parse;
    /// callers reject the non-finite.
    public static func number(_ cell: ArraySlice<UInt8>, scratch: inout [CChar]) -> Double? {
        cell.withUnsafeBufferPointer { number($0.baseAddress, $0.count, scratch: &scratch) }
    }

    public static func number(_ start: UnsafePointer<UInt8>?, _ count: Int, scratch: inout [CChar]) -> Double? {
        guard var p = start else { return nil }
        var length = count
        while length > 0 && (p[0] == 32 || p[0] == 9) { p += 1; length -= 1 }
        while length > 0 && (p[length - 1] == 32 || p[length - 1] == 9) { length -= 1 }
        guard length > 0 else { return nil }
        if let v = simpleDecimal(p, length) { return v }
        if scratch.count <= length { scratch = [CChar](repeating: 0, count: length + 1) }
        return scratch.withUnsafeMutableBufferPointer { s -> Double? in
            for k in 0..<length { s[k] = CChar(bitPattern: p[k]) }
            s[length] = 0
            var end: UnsafeMutablePointer<CChar>? = nil
            let v = strtod(s.baseAddress!, &end)
            return end == s.baseAddress! + length ? v : nil
        }
    }

    /// Exact powers of ten as Doubles (10^0 ... 10^22).
    private static let powersOfTen: [Double] = (0...22).map { pow(10, Double($0)) }

    /// Plain decimals ("-12.5", "3e-4") whose digits fit a Double exactly and whose power of ten is
    /// at most 22 are one exact multiplication or division, so correctly rounded as strtod's result;
    /// nil sends anything else to strtod.
    @inline(__always)
    public static func simpleDecimal(_ p: UnsafePointer<UInt8>, _ n: Int) -> Double? {
        var i = 0, negative = false
        if p[0] == 45 || p[0] == 43 { negative = p[0] == 45; i = 1 }
        var mantissa: UInt64 = 0, digits = 0, exponent = 0
        while i < n, p[i] &- 48 < 10 { mantissa = mantissa &* 10 &+ UInt64(p[i] &- 48); digits += 1; i += 1 }
        if i < n, p[i] == 46 {
            i += 1
            while i < n, p[i] &- 48 < 10 { mantissa = mantissa &* 10 &+ UInt64(p[i] &- 48); digits += 1; exponent -= 1; i += 1 }
        }
        guard digits > 0, digits <= 15 else { return nil }
        if i < n, p[i] == 101 || p[i] == 69 {
            i += 1
            var e = 0, eNegative = false, eDigits = 0
            if i < n, p[i] == 45 || p[i] == 43 { eNegative = p[i] == 45; i += 1 }
            while i < n, p[i] &- 48 < 10, eDigits < 4 { e = e * 10 + Int(p[i] &- 48); eDigits += 1; i += 1 }
            guard eDigits > 0 else { return nil }
            exponent += eNegative ? -e : e
        }
        guard i == n, abs(exponent) <= 22 else { return nil }
        let m = Double(mantissa)
        let v = exponent >= 0 ? m * powersOfTen[exponent] : m / powersOfTen[-exponent]
        return negative ? -v : v
    }
}
