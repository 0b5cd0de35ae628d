import XCTest
import Foundation
@testable import BottleneckServe
@testable import Bottleneck

/// The server's one-pass reader of `{"rows": [[numbers]]}` gives exactly what JSONDecoder gives,
/// and leaves every other layout (and every non-JSON number) to it. Runs in the debug unit tests.
final class JSONRowsTests: XCTestCase {
    func testJSONRowReaderAgreesWithFoundation() throws {
        let rng = RandomGenerator(seed: 4)
        for trial in 0..<200 {
            let rows = (0..<(1 + trial % 4)).map { _ in (0..<(1 + trial % 7)).map { _ in Double(rng.normal()) * pow(10, Double(Int(rng.uniform() * 8) - 4)) } }
            let text = "{ \"rows\" : [" + rows.map { "[" + $0.map { trial % 2 == 0 ? "\($0)" : String(format: "%.6e", $0) }.joined(separator: " , ") + "]" }.joined(separator: ",\n") + "] }"
            let fast = try XCTUnwrap(JSONRows.parse(Data(text.utf8)), text)
            let slow = try JSONDecoder().decode([String: [[Double]]].self, from: Data(text.utf8))["rows"]!
            XCTAssertEqual(fast.values, slow.flatMap { $0.map(Float.init) }, text)
            XCTAssertEqual(fast.rowLengths, slow.map(\.count))
        }
        for other in ["{\"rows\": [[+1]]}", "{\"rows\": [[1.]]}", "{\"rows\": [[.5]]}", "{\"rows\": [[01]]}", "{\"rows\": [[NaN]]}", "{\"rows\": [[1e]]}",
                      "{\"rows\": [[1]], \"x\": 1}", "{\"rows\": [{\"a\": 1}]}", "{\"rows\": [[[1]]]}", "{\"rows\": [[1]]} x", "{\"other\": [[1]]}", "{\"rows\": []}"] {
            XCTAssertNil(JSONRows.parse(Data(other.utf8)), "\(other) goes to the full reader")
        }
    }
}
