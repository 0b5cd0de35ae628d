import Foundation
import BottleneckCore

/// A column chosen by its header name or by its 0-based index.
public enum CSVColumn: Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, CustomStringConvertible {
    case name(String)
    case index(Int)
    public init(stringLiteral value: String) { self = .name(value) }
    public init(integerLiteral value: Int) { self = .index(value) }
    public var description: String {
        switch self { case .name(let n): return "'\(n)'"; case .index(let i): return "index \(i)" }
    }
}

/// A CSV file of numbers read as a dataset.
public struct CSVData {
    /// Features [N, F] (row order of the file); labels when a label column was chosen.
    public var dataset: Dataset
    /// Names of the feature columns (from the header, or "column 1", "column 2", ... without one).
    public var featureNames: [String]
    /// When the label column holds text: label i is `labelNames[i]`. Nil for integer labels.
    public var labelNames: [String]?
    public var hasHeader: Bool
    public var delimiter: Character
}

/// Comma-separated values. Rows and columns in messages are counted from 1 as a spreadsheet shows
/// them: the row is the file's line (a header is row 1), the column its position in the row.
public enum CSV {
    /// Reads a CSV of numbers. `header`: nil applies the header rule (`isHeader`: a first row of
    /// names only is a header, of numbers only is data, of both is an error). `delimiter`: nil picks the most frequent of ',', ';' and tab in
    /// the first line. `label` becomes the labels: integers as they are, or text mapped to
    /// 0, 1, ... in sorted order (pass the training set's `labelNames` to reuse its mapping).
    /// `drop` lists columns to ignore (a timestamp, an id). Every other cell must be a finite number.
    public static func read(_ path: String, label: CSVColumn? = nil, drop: [CSVColumn] = [], header: Bool? = nil,
                            delimiter: Character? = nil, labelNames knownLabelNames: [String]? = nil) throws -> CSVData {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BottleneckError.file(path, FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file")
        }
        return try parse(data, source: path, label: label, drop: drop, header: header, delimiter: delimiter, labelNames: knownLabelNames)
    }

    public static func parse(_ data: Data, source: String, label: CSVColumn? = nil, drop: [CSVColumn] = [], header: Bool? = nil,
                             delimiter: Character? = nil, labelNames knownLabelNames: [String]? = nil) throws -> CSVData {
        let bytes = [UInt8](data)
        let sep = try delimiter.map { d -> UInt8 in
            guard let a = d.asciiValue, a != UInt8(ascii: "\"") else { throw BottleneckError("CSV delimiter must be one ASCII character other than '\"', got '\(d)'") }
            return a
        } ?? detectDelimiter(bytes)
        var reader = RowReader(bytes: bytes, delimiter: sep, source: source)
        guard let first = try reader.next() else { throw BottleneckError.file(source, "is empty: no rows") }
        let second = try reader.next()

        let hasHeader = try header ?? isHeader(first, source: source)
        let width = first.count
        let names = hasHeader ? (0..<width).map { String(decoding: first[$0], as: UTF8.self) } : (1...width).map { "column \($0)" }
        if hasHeader {
            var seen: [String: Int] = [:]
            for (c, name) in names.enumerated() where !name.trimmingCharacters(in: .whitespaces).isEmpty {
                if let before = seen.updateValue(c, forKey: name) {
                    throw BottleneckError.file(source, "header names column '\(name)' twice (columns \(before + 1) and \(c + 1)): the model stores columns by name")
                }
            }
        }
        func resolve(_ c: CSVColumn) throws -> Int {
            switch c {
            case .index(let i):
                guard (0..<width).contains(i) else { throw BottleneckError.file(source, "has \(width) columns (0-based indices 0...\(width - 1)); column index \(i) does not exist") }
                return i
            case .name(let n):
                guard hasHeader else { throw BottleneckError.file(source, "has no header row, so column '\(n)' cannot be found by name: use its index") }
                guard let i = names.firstIndex(of: n) else { throw BottleneckError.file(source, "has no column '\(n)' (columns: \(names.joined(separator: ", ")))") }
                return i
            }
        }
        let labelIndex = try label.map(resolve)
        let dropped = Set(try drop.map(resolve))
        let featureColumns = (0..<width).filter { $0 != labelIndex && !dropped.contains($0) }
        guard !featureColumns.isEmpty else { throw BottleneckError.file(source, "has no feature columns left after the label and dropped columns") }

        // Rows are converted as they are read: only one row of cells exists at a time.
        var values: [Float] = []
        values.reserveCapacity(featureColumns.count * max(16, bytes.count / max(1, 2 * width)))
        var rawLabels: [String] = [], labelLines: [Int] = []
        var scratch = [CChar](repeating: 0, count: 64)
        func consume(_ row: Row) throws {
            guard row.count == width else {
                throw BottleneckError.file(source, "row \(row.line) has \(row.count) cells, the \(hasHeader ? "header" : "first row") has \(width)")
            }
            try row.file.withUnsafeBufferPointer { file in
                for c in featureColumns {
                    let cell = row.cells[c]
                    let parsed = cell.quoted ? DecimalText.number(row[c], scratch: &scratch)
                        : DecimalText.number(file.baseAddress.map { $0 + cell.start }, cell.end - cell.start, scratch: &scratch)
                    guard let v = parsed, v.isFinite else {
                        let text = String(decoding: row[c], as: UTF8.self)
                        let what = row[c].allSatisfy({ $0 == 32 || $0 == 9 }) ? "empty cell, a number is needed"
                            : parsed != nil ? "'\(text)' is not a finite number" : "'\(text)' is not a number"
                        throw BottleneckError.file(source, "row \(row.line), column \(c + 1) ('\(names[c])'): \(what)")
                    }
                    values.append(Float(v))
                }
            }
            if let li = labelIndex {
                let text = String(decoding: row[li], as: UTF8.self).trimmingCharacters(in: .whitespaces)
                guard !text.isEmpty else { throw BottleneckError.file(source, "row \(row.line), column \(li + 1) ('\(names[li])'): empty label") }
                rawLabels.append(text)
                labelLines.append(row.line)
            }
        }
        if !hasHeader { try consume(first) }
        if let second { try consume(second) }
        while let row = try reader.next() { try consume(row) }
        guard !values.isEmpty else { throw BottleneckError.file(source, "has a header but no data rows") }
        let features = Tensor(shape: [values.count / featureColumns.count, featureColumns.count], values: values)

        var labels: [Int]? = nil, labelNames: [String]? = nil
        if let li = labelIndex {
            let integers = knownLabelNames == nil ? rawLabels.map(integerLabel) : []
            if !integers.isEmpty, integers.allSatisfy({ $0 != nil }) {
                labels = integers.map { $0! }
                if let (k, bad) = labels!.enumerated().first(where: { $0.element < 0 }) {
                    throw BottleneckError.file(source, "row \(labelLines[k]), column \(li + 1) ('\(names[li])'): label \(bad) is negative")
                }
            } else {
                let classes = knownLabelNames ?? Array(Set(rawLabels)).sorted()
                let index = Dictionary(classes.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
                labels = try rawLabels.enumerated().map { k, text in
                    guard let i = index[text] else {
                        throw BottleneckError.file(source, "row \(labelLines[k]), column \(li + 1) ('\(names[li])'): label '\(text)' is not one of the known labels (\(classes.joined(separator: ", ")))")
                    }
                    return i
                }
                labelNames = classes
            }
        }
        // Only a header names the columns; "column 1", ... are not names a model can check against.
        return CSVData(dataset: Dataset(inputs: features, labels: labels, source: source,
                                        featureNames: hasHeader ? featureColumns.map { names[$0] } : nil),
                       featureNames: featureColumns.map { names[$0] }, labelNames: labelNames,
                       hasHeader: hasHeader, delimiter: Character(UnicodeScalar(sep)))
    }

    // MARK: Writing

    /// Writes a header and rows of text cells atomically; cells holding the delimiter, a quote or a
    /// line break are quoted.
    public static func write(header: [String]?, rows: [[String]], to path: String, delimiter: Character = ",") throws {
        let sep = try delimiterByte(delimiter, for: path)
        var out: [UInt8] = []
        for row in (header.map { [$0] } ?? []) + rows {
            for (k, cell) in row.enumerated() {
                if k > 0 { out.append(sep) }
                append(cell, to: &out, delimiter: sep)
            }
            out.append(10)
        }
        try writeAtomically(Data(out), to: path)
    }

    /// Writes values [N, F] (e.g. codes) with optional leading columns of text (ids, labels, flags),
    /// atomically. Floats are written in their shortest form that reads back exactly.
    public static func write(_ values: Tensor, columnNames: [String], leading: [(name: String, cells: [String])] = [],
                             to path: String, delimiter: Character = ",") throws {
        guard values.rank == 2, columnNames.count == values.shape[1] else {
            throw BottleneckError.file(path, "CSV output needs values [N, F] and F column names, got \(formatShape(values.shape)) and \(columnNames.count) names")
        }
        let n = values.shape[0], f = values.shape[1]
        if let bad = leading.first(where: { $0.cells.count != n }) {
            throw BottleneckError.file(path, "column '\(bad.name)' has \(bad.cells.count) cells for \(n) rows")
        }
        let sep = try delimiterByte(delimiter, for: path)
        var out: [UInt8] = []
        out.reserveCapacity(n * f * 10 + 64)
        for (k, name) in (leading.map(\.name) + columnNames).enumerated() {
            if k > 0 { out.append(sep) }
            append(name, to: &out, delimiter: sep)
        }
        out.append(10)
        withExtendedLifetime(values) {
            for r in 0..<n {
                for (k, column) in leading.enumerated() {
                    if k > 0 { out.append(sep) }
                    append(column.cells[r], to: &out, delimiter: sep)
                }
                for j in 0..<f {
                    if j > 0 || !leading.isEmpty { out.append(sep) }
                    out.append(contentsOf: values.data[r * f + j].description.utf8)
                }
                out.append(10)
            }
        }
        try writeAtomically(Data(out), to: path)
    }

    private static func delimiterByte(_ d: Character, for path: String) throws -> UInt8 {
        guard let b = d.asciiValue, b != 34, b != 10, b != 13 else {
            throw BottleneckError.file(path, "CSV delimiter must be one ASCII character other than a quote or line break, got '\(d)'")
        }
        return b
    }

    private static func append(_ cell: String, to out: inout [UInt8], delimiter: UInt8) {
        let bytes = cell.utf8
        if bytes.contains(where: { $0 == delimiter || $0 == 34 || $0 == 10 || $0 == 13 }) {
            out.append(34)
            for b in bytes { if b == 34 { out.append(34) }; out.append(b) }
            out.append(34)
        } else {
            out.append(contentsOf: bytes)
        }
    }

    // MARK: Parsing helpers

    /// "3" or "3.0" (as pandas writes integer columns that had gaps) as 3; anything else nil.
    static func integerLabel(_ text: String) -> Int? {
        if let i = Int(text) { return i }
        guard let d = Double(text), d.isFinite, d == d.rounded(), abs(d) < 1e15 else { return nil }
        return Int(d)
    }

    /// One row: each cell is a byte range of the file, or of `quoted` for cells that had quotes.
    struct Row {
        struct Cell { var start: Int, end: Int, quoted: Bool }
        var line: Int
        var cells: [Cell]
        let file: [UInt8]
        var quoted: [UInt8] = []
        var count: Int { cells.count }
        subscript(_ c: Int) -> ArraySlice<UInt8> {
            let cell = cells[c]
            return cell.quoted ? quoted[cell.start..<cell.end] : file[cell.start..<cell.end]
        }
    }

    /// The delimiter among ',', ';' and tab that occurs most often in the first line (outside quotes).
    static func detectDelimiter(_ bytes: [UInt8]) -> UInt8 {
        var counts: [UInt8: Int] = [44: 0, 59: 0, 9: 0]
        var inQuotes = false
        for b in bytes {
            if b == 34 { inQuotes.toggle() } else if !inQuotes {
                if b == 10 || b == 13 { break }
                if counts[b] != nil { counts[b]! += 1 }
            }
        }
        return [9, 59, 44].max { counts[$0]! < counts[$1]! } ?? 44
    }

    /// The header rule: the first row is a header when none of its cells is a number (empty
    /// cells, as pandas writes above an index, count as names), and data when none is text. A
    /// row of both is an error naming row 1 and the cells: a typo in the first data row must not
    /// turn it silently into column names.
    static func isHeader(_ first: Row, source: String) throws -> Bool {
        var scratch = [CChar](repeating: 0, count: 64)
        var text: Int?, numeric: Int?
        for c in 0..<first.count {
            if DecimalText.number(first[c], scratch: &scratch) != nil { numeric = numeric ?? c }
            else if !first[c].allSatisfy({ $0 == 32 || $0 == 9 }) { text = text ?? c }
        }
        guard let t = text else { return false }
        guard let n = numeric else { return true }
        func cell(_ c: Int) -> String { "column \(c + 1) '\(String(decoding: first[c].prefix(40), as: UTF8.self))'" }
        throw BottleneckError.file(source, "row 1 mixes names and numbers (\(cell(t)) is not a number, \(cell(n)) is): a header row must be all names, a data row all numbers")
    }

    /// Reads rows of cells one at a time (quotes removed, "" unescaped). Blank lines are skipped;
    /// a UTF-8 byte-order mark is ignored; line breaks may be \n, \r\n or \r. Cells without quotes
    /// are slices of the file's bytes; quoted ones are unescaped into their own arrays.
    struct RowReader {
        let bytes: [UInt8]
        let delimiter: UInt8
        let source: String
        var i = 0
        var line = 1

        init(bytes: [UInt8], delimiter: UInt8, source: String) {
            self.bytes = bytes
            self.delimiter = delimiter
            self.source = source
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        }

        mutating func next() throws -> Row? {
            let n = bytes.count
            var row = Row(line: line, cells: [], file: bytes)
            while i < n {
                if bytes[i] == 34 {
                    let start = row.quoted.count, startLine = line
                    i += 1
                    while true {
                        guard i < n else { throw BottleneckError.file(source, "row \(startLine): a quoted cell is never closed") }
                        if bytes[i] == 34 {
                            if i + 1 < n && bytes[i + 1] == 34 { row.quoted.append(34); i += 2; continue }
                            i += 1
                            break
                        }
                        if bytes[i] == 10 { line += 1 }
                        row.quoted.append(bytes[i])
                        i += 1
                    }
                    row.cells.append(.init(start: start, end: row.quoted.count, quoted: true))
                    while i < n && (bytes[i] == 32 || bytes[i] == 9) && bytes[i] != delimiter { i += 1 }
                    if i < n && bytes[i] != delimiter && bytes[i] != 10 && bytes[i] != 13 {
                        throw BottleneckError.file(source, "row \(line): text after a closing quote")
                    }
                } else {
                    let start = i
                    while i < n && bytes[i] != delimiter && bytes[i] != 10 && bytes[i] != 13 { i += 1 }
                    row.cells.append(.init(start: start, end: i, quoted: false))
                }
                if i < n && bytes[i] == delimiter {
                    i += 1
                    if i == n || bytes[i] == 10 || bytes[i] == 13 { row.cells.append(.init(start: i, end: i, quoted: false)) } else { continue }
                }
                // End of a row.
                if i < n && bytes[i] == 13 { i += 1 }
                if i < n && bytes[i] == 10 { i += 1 }
                line += 1
                if !(row.count == 1 && row[0].allSatisfy { $0 == 32 || $0 == 9 }) { return row }
                row = Row(line: line, cells: [], file: bytes)  // a blank line
            }
            return nil
        }
    }
}
