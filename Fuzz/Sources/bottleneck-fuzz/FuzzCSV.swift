import Bottleneck
import Foundation

/// A CSV's bytes, read twice: header and delimiter detected, and again with column 0 as labels
/// (text labels and the label-mapping path).
func fuzzCSV(_ data: Data) throws {
    _ = try? CSV.parse(data, source: "fuzz.csv")
    _ = try CSV.parse(data, source: "fuzz.csv", label: .index(0))
}
