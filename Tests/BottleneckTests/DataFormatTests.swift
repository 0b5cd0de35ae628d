import Foundation
import XCTest
@testable import BottleneckCore
@testable import BottleneckNN
@testable import BottleneckData
@testable import BottleneckTraining
@testable import BottleneckApps
import Bottleneck

/// A fresh temporary folder, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bottleneck-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// Asserts that `body` throws a BottleneckError whose one-line message contains every part.
func assertBottleneckError(_ parts: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("no error thrown; expected one mentioning \(parts)", file: file, line: line)
    } catch let e as BottleneckError {
        for p in parts { XCTAssertTrue(e.message.contains(p), "'\(e.message)' does not mention '\(p)'", file: file, line: line) }
        XCTAssertFalse(e.message.contains("\n"), "error message has several lines: \(e.message)", file: file, line: line)
    } catch {
        XCTFail("threw \(error), not a BottleneckError", file: file, line: line)
    }
}

let npyFixtures = fixturesDirectory.appendingPathComponent("npy").path

final class DataFormatTests: XCTestCase {
    private func csv(_ text: String, _ name: String = "data.csv") throws -> String {
        let path = try temporaryDirectory(self) + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    // MARK: CSV reading

    func testCSVWithHeaderAndTextLabels() throws {
        let t = try CSV.read(try csv("a,b,label\n1,2,cat\n3, 4.5 ,dog\n-1e-3,0,cat\n"), label: "label")
        XCTAssertTrue(t.hasHeader)
        XCTAssertEqual(t.delimiter, ",")
        XCTAssertEqual(t.featureNames, ["a", "b"])
        XCTAssertEqual(t.dataset.inputs.shape, [3, 2])
        XCTAssertEqual(t.dataset.inputs.scalars, [1, 2, 3, 4.5, -0.001, 0])
        XCTAssertEqual(t.labelNames, ["cat", "dog"])
        XCTAssertEqual(t.dataset.labels, [0, 1, 0])
    }

    func testCSVWithoutHeaderIntegerLabelsSemicolons() throws {
        let t = try CSV.read(try csv("1;2;0\n3;4;1\n5;6;1.0\n"), label: 2)
        XCTAssertFalse(t.hasHeader)
        XCTAssertEqual(t.delimiter, ";")
        XCTAssertEqual(t.featureNames, ["column 1", "column 2"])
        XCTAssertEqual(t.dataset.inputs.scalars, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(t.dataset.labels, [0, 1, 1])
        XCTAssertNil(t.labelNames)
    }

    func testCSVTabsQuotesCRLFAndByteOrderMark() throws {
        let text = "\u{FEFF}\"time, s\"\t\"x\"\ty\r\n0\t1.5\t\"2\"\r\n\r\n1\t-2\t3e2\r\n"
        let t = try CSV.read(try csv(text), drop: ["time, s"])
        XCTAssertEqual(t.delimiter, "\t")
        XCTAssertEqual(t.featureNames, ["x", "y"])
        XCTAssertEqual(t.dataset.inputs.scalars, [1.5, 2, -2, 300])
        XCTAssertNil(t.dataset.labels)
    }

    func testCSVReusesTrainingLabelNames() throws {
        let t = try CSV.read(try csv("x,y\n1,dog\n2,bird\n"), label: "y", labelNames: ["bird", "cat", "dog"])
        XCTAssertEqual(t.dataset.labels, [2, 0])
        let path = try csv("x,y\n1,dog\n2,cow\n")
        assertBottleneckError(["\(path): row 3, column 2 ('y'): label 'cow' is not one of the known labels"]) {
            _ = try CSV.read(path, label: "y", labelNames: ["bird", "cat", "dog"])
        }
    }

    func testCSVNonNumericCellNamesRowAndColumn() throws {
        let path = try csv("a,b,c\n1,2,3\n4,abc,6\n")
        assertBottleneckError(["\(path): row 3, column 2 ('b'): 'abc' is not a number"]) { _ = try CSV.read(path) }
        let noHeader = try csv("1,2\n3,x\n", "plain.csv")
        assertBottleneckError(["\(noHeader): row 2, column 2 ('column 2'): 'x' is not a number"]) { _ = try CSV.read(noHeader) }
    }

    func testCSVEmptyCellNonFiniteAndRaggedRows() throws {
        let empty = try csv("a,b\n1,\n")
        assertBottleneckError(["row 2, column 2 ('b'): empty cell"]) { _ = try CSV.read(empty) }
        let nan = try csv("a,b\n1,2\n3,nan\n", "nan.csv")
        assertBottleneckError(["\(nan): row 3, column 2 ('b'): 'nan' is not a finite number"]) { _ = try CSV.read(nan) }
        let ragged = try csv("a,b,c\n1,2,3\n4,5\n", "ragged.csv")
        assertBottleneckError(["\(ragged): row 3 has 2 cells, the header has 3"]) { _ = try CSV.read(ragged) }
        let long = try csv("1,2\n3,4,5\n", "long.csv")
        assertBottleneckError(["row 2 has 3 cells, the first row has 2"]) { _ = try CSV.read(long) }
        let unclosed = try csv("a,b\n1,\"2\n", "quote.csv")
        assertBottleneckError(["row 2: a quoted cell is never closed"]) { _ = try CSV.read(unclosed) }
    }

    func testCSVColumnAndFileErrors() throws {
        assertBottleneckError(["/no/such/file.csv: no such file"]) { _ = try CSV.read("/no/such/file.csv") }
        let path = try csv("a,b\n1,2\n")
        assertBottleneckError(["has no column 'label' (columns: a, b)"]) { _ = try CSV.read(path, label: "label") }
        assertBottleneckError(["column index 5 does not exist"]) { _ = try CSV.read(path, label: 5) }
        let plain = try csv("1,2\n", "plain.csv")
        assertBottleneckError(["has no header row"]) { _ = try CSV.read(plain, label: "a") }
        assertBottleneckError(["is empty"]) { _ = try CSV.read(try self.csv("", "empty.csv")) }
        assertBottleneckError(["label -1 is negative"]) { _ = try CSV.read(try self.csv("x,y\n1,-1\n", "neg.csv"), label: "y") }
    }

    // MARK: CSV writing

    func testCSVWriteReadRoundTrip() throws {
        let dir = try temporaryDirectory(self)
        let values = Tensor(shape: [3, 2], values: [0.1, -2.5e-7, 3, 1e10, Float.pi, -0])
        let path = dir + "/codes.csv"
        try CSV.write(values, columnNames: ["z1", "z2"], leading: [(name: "label", cells: ["2", "0", "1"])], to: path)
        let back = try CSV.read(path, label: "label")
        XCTAssertEqual(back.featureNames, ["z1", "z2"])
        XCTAssertEqual(back.dataset.inputs.scalars, values.scalars, "floats must read back exactly")
        XCTAssertEqual(back.dataset.labels, [2, 0, 1])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/.codes.csv.tmp-\(getpid())"))

        let text = dir + "/text.csv"
        try CSV.write(header: ["name", "score"], rows: [["a, \"quoted\"", "1.5"], ["plain", "2"]], to: text)
        let read = try CSV.read(text, label: "name")
        XCTAssertEqual(read.labelNames, ["a, \"quoted\"", "plain"])
        XCTAssertEqual(read.dataset.inputs.scalars, [1.5, 2])
        assertBottleneckError(["needs values [N, F] and F column names"]) {
            try CSV.write(values, columnNames: ["only one"], to: dir + "/bad.csv")
        }
    }

    // MARK: NPY

    func testNPYReadsNumPyFiles() throws {
        let f32 = try NPYArray.read(npyFixtures + "/f32.npy")
        XCTAssertEqual(f32.shape, [3, 4])
        XCTAssertEqual(f32.dtype, "<f4")
        XCTAssertEqual(f32.values, (0..<12).map { Float($0) * 0.5 - 1 })
        let v2 = try NPYArray.read(npyFixtures + "/f32_v2.npy")
        XCTAssertEqual(v2.shape, [3, 4])
        XCTAssertEqual(v2.values, f32.values)
        let f64 = try NPYArray.read(npyFixtures + "/f64.npy")
        XCTAssertEqual(f64.shape, [2, 3])
        XCTAssertEqual(f64.values, (0..<6).map { Float(Double($0) / 3) })
        let u8 = try NPYArray.read(npyFixtures + "/u8.npy")
        XCTAssertEqual(u8.shape, [2, 2, 3])
        XCTAssertEqual(u8.integers, (0..<12).map { 20 * $0 })
        XCTAssertEqual(try NPYArray.readLabels(npyFixtures + "/i64_labels.npy"), [3, 0, 2])
        let scalar = try NPYArray.read(npyFixtures + "/scalar.npy")
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.values, [2.5])
    }

    func testNPYWriteMatchesNumPyAndRoundTrips() throws {
        let t = Tensor(shape: [3, 4], values: (0..<12).map { Float($0) * 0.5 - 1 })
        let numpyBytes = try Data(contentsOf: URL(fileURLWithPath: npyFixtures + "/f32.npy"))
        XCTAssertEqual(NPYArray.encoded(t), numpyBytes, "our float32 .npy should be byte-identical to numpy.save")
        let path = try temporaryDirectory(self) + "/out.npy"
        for shape in [[5], [2, 3, 2], []] {
            let x = randn(shape, seed: 3)
            try NPYArray.write(x, to: path)
            let back = try NPYArray.read(path)
            XCTAssertEqual(back.shape, shape)
            XCTAssertEqual(back.values, x.scalars)
        }
    }

    func testNPYDatasetScalesBytesAndChecksLabels() throws {
        let d = try NPYArray.loadDataset(inputs: npyFixtures + "/u8.npy")
        XCTAssertEqual(d.inputs.shape, [2, 2, 3])
        XCTAssertEqual(d.inputs.scalars, (0..<12).map { Float(20 * $0) / 255 })
        let f = try NPYArray.loadDataset(inputs: npyFixtures + "/f32.npy", labels: npyFixtures + "/i64_labels.npy")
        XCTAssertEqual(f.labels, [3, 0, 2])
        assertBottleneckError(["i64_labels.npy: has 3 labels for 2 samples"]) {
            _ = try NPYArray.loadDataset(inputs: npyFixtures + "/u8.npy", labels: npyFixtures + "/i64_labels.npy")
        }
        assertBottleneckError(["f32.npy: labels must be integers, the dtype is '<f4'"]) { _ = try NPYArray.readLabels(npyFixtures + "/f32.npy") }
        assertBottleneckError(["f32_nan.npy: row 2, column 2 is NaN"]) { _ = try NPYArray.loadDataset(inputs: npyFixtures + "/f32_nan.npy") }
    }

    func testNPYBadFiles() throws {
        assertBottleneckError(["/no/such.npy: no such file"]) { _ = try NPYArray.read("/no/such.npy") }
        assertBottleneckError(["fortran.npy: array is in Fortran (column-major) order"]) { _ = try NPYArray.read(npyFixtures + "/fortran.npy") }
        assertBottleneckError(["big_endian.npy: dtype '>f4' is not supported"]) { _ = try NPYArray.read(npyFixtures + "/big_endian.npy") }
        assertBottleneckError(["complex.npy: dtype '<c8' is not supported"]) { _ = try NPYArray.read(npyFixtures + "/complex.npy") }
        let whole = try Data(contentsOf: URL(fileURLWithPath: npyFixtures + "/f32.npy"))
        assertBottleneckError(["cut.npy: shape [3, 4] of <f4 needs 48 bytes of data, the file has 45: truncated"]) {
            _ = try NPYArray.decode(whole.prefix(whole.count - 3), source: "cut.npy")
        }
        assertBottleneckError(["cut.npy: NPY header says 118 bytes"]) { _ = try NPYArray.decode(whole.prefix(40), source: "cut.npy") }
        assertBottleneckError(["x.npy: not a NumPy .npy file"]) { _ = try NPYArray.decode(Data("hello, world".utf8), source: "x.npy") }
        var badShape = whole
        badShape.replaceSubrange(60..<62, with: Data("(x".utf8))
        XCTAssertThrowsError(try NPYArray.decode(badShape, source: "bad.npy"))
    }

    // MARK: Time series windows

    func testSlidingWindows() throws {
        let series = Tensor(shape: [10, 2], values: (0..<20).map(Float.init))
        let w = try TimeSeries.windows(series, length: 4, stride: 3)
        XCTAssertEqual(w.inputs.shape, [3, 4, 2])
        XCTAssertEqual(Array(w.inputs.scalars[0..<8]), (0..<8).map(Float.init))
        XCTAssertEqual(Array(w.inputs.scalars[8..<16]), (6..<14).map(Float.init))
        XCTAssertEqual(Array(w.inputs.scalars[16..<24]), (12..<20).map(Float.init))
        XCTAssertEqual(TimeSeries.windowStarts(count: 3, stride: 3), [0, 3, 6])
        XCTAssertEqual(try TimeSeries.windows(series, length: 10, stride: 1).inputs.shape, [1, 10, 2])
    }

    func testWindowsFromCSVAndTooShortSeries() throws {
        let rows = (0..<6).map { "2024-01-0\($0 + 1),\($0),\(10 * $0)" }.joined(separator: "\n")
        let path = try csv("date,a,b\n" + rows + "\n", "series.csv")
        let (d, names) = try TimeSeries.loadWindows(csv: path, length: 3, stride: 2, drop: ["date"])
        XCTAssertEqual(names, ["a", "b"])
        XCTAssertEqual(d.inputs.shape, [2, 3, 2])
        XCTAssertEqual(Array(d.inputs.scalars[6..<12]), [2, 20, 3, 30, 4, 40])
        assertBottleneckError(["\(path): 6 time steps (rows) are too few for one window of 7"]) {
            _ = try TimeSeries.loadWindows(csv: path, length: 7, stride: 1, drop: ["date"])
        }
        assertBottleneckError(["window length and stride must be at least 1"]) {
            _ = try TimeSeries.windows(Tensor(shape: [4, 1]), length: 2, stride: 0)
        }
    }

    // MARK: Scaling

    func testUnitAndStandardScalersFitOnTrainingOnly() throws {
        let train = Tensor(shape: [4, 3], values: [0, 10, 5, 2, 20, 5, 4, 30, 5, 6, 40, 5])
        let unit = try Scaler.fitted(.unit, to: train)
        let third: Float = 1 / 3
        XCTAssertEqual(unit.shift, [0, 10, 5])
        XCTAssertEqual(unit.divisor, [6, 30, 1], "a constant feature keeps divisor 1")
        XCTAssertEqual(try unit.transform(train).scalars, [0, 0, 0, third, third, 0, 2 * third, 2 * third, 0, 1, 1, 0] as [Float])
        let test = Tensor(shape: [1, 3], values: [12, 0, 7])
        XCTAssertEqual(try unit.transform(test).scalars, [2, -third, 2] as [Float], "test data uses the training range")

        let standard = try Scaler.fitted(.standard, to: train)
        XCTAssertEqual(standard.shift, [3, 25, 5])
        XCTAssertEqual(standard.divisor[0], Float(5.0.squareRoot()), accuracy: 1e-6)
        XCTAssertEqual(standard.divisor[2], 1, "std 0 counts as 1")
        let z = try standard.transform(train)
        for j in 0..<3 {
            let column = (0..<4).map { z.data[$0 * 3 + j] }
            XCTAssertEqual(column.reduce(0, +) / 4, 0, accuracy: 1e-6)
        }
        assertClose(try standard.inverseTransform(z), train, tol: 1e-6, "standard inverse")
        assertClose(try unit.inverseTransform(try unit.transform(test)), test, tol: 1e-6, "unit inverse")
        XCTAssertEqual(try Scaler(.none).transform(train).scalars, train.scalars)
    }

    func testScalerFeatureAxisSharedBySeriesAndWindows() throws {
        let series = Tensor(shape: [6, 2], values: [1, 100, 2, 200, 3, 300, 4, 400, 5, 500, 6, 600])
        let scaler = try Scaler.fitted(.unit, to: series)
        let windows = try TimeSeries.windows(series, length: 3, stride: 3)
        let scaledWindows = try scaler.transform(windows.inputs)
        let scaledSeries = try scaler.transform(series)
        XCTAssertEqual(scaledWindows.scalars, scaledSeries.scalars)

        let images = randn([5, 3, 4, 4], seed: 9)
        let perChannel = try Scaler.fitted(.standard, to: images, featureAxis: 1)
        XCTAssertEqual(perChannel.featureAxis, -3)
        XCTAssertEqual(perChannel.shift.count, 3)
        let single = try perChannel.transform(Tensor(shape: [3, 4, 4], values: Array(images.scalars[0..<48])))
        XCTAssertEqual(single.scalars, Array(try perChannel.transform(images).scalars[0..<48]), "a sample without batch axis scales the same")

        let bytes = Scaler.fixedRange(min: 0, max: 255)
        XCTAssertEqual(try bytes.transform(Tensor([0, 51, 255])).scalars, [0, 0.2, 1])
    }

    func testScalerJSONRoundTripAndErrors() throws {
        let train = randn([8, 5], seed: 4)
        let s = try Scaler.fitted(.standard, to: train)
        let json = try s.jsonString()
        let back = try Scaler.fromJSON(json)
        XCTAssertEqual(back, s)
        XCTAssertEqual(try back.transform(train).scalars, try s.transform(train).scalars)
        XCTAssertEqual(try Scaler.fromJSON(try Scaler.fixedRange(min: 0, max: 255).jsonString()).kind, .fixedRange)

        assertBottleneckError(["not a valid scaler description"]) { _ = try Scaler.fromJSON("{\"kind\": \"cube\"}") }
        assertBottleneckError(["used before being fitted"]) { _ = try Scaler(.unit).transform(train) }
        assertBottleneckError(["fitted to 5 features", "[8, 4]"]) { _ = try s.transform(Tensor(shape: [8, 4])) }
        let bad = Tensor(shape: [3, 2], values: [1, 2, 3, .infinity, 5, 6])
        assertBottleneckError(["train.csv: row 2, column 2 is +infinity"]) { _ = try Scaler.fitted(.unit, to: bad, source: "train.csv") }
    }

    func testValidateFiniteNamesFirstBadPlace() throws {
        let images = Tensor(shape: [2, 1, 2, 3])
        images.data[6 + 4] = .nan
        assertBottleneckError(["imgs: sample 2, element [0, 1, 1] is NaN"]) {
            try validateFinite(Dataset(inputs: images, source: "imgs"))
        }
        let rows = Tensor(shape: [3, 2], values: [0, 1, 2, 3, -.infinity, .nan])
        assertBottleneckError(["data.csv: row 3, column 1 is -infinity"]) { try validateFinite(Dataset(inputs: rows, source: "data.csv")) }
        XCTAssertNoThrow(try validateFinite(Dataset(inputs: Tensor(shape: [2, 2]), source: "ok")))
    }
}
