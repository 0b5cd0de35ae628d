import Bottleneck
import Foundation

/// A `.bnz` file from `bottleneck compress`: header, then the entropy-coded symbols decoded.
func fuzzCompressedCodes(_ data: Data) throws {
    let file = try CompressedCodes.decode(data, source: "fuzz.bnz")
    _ = try file.symbols()
    _ = try file.codes()
}
